//! A fresh, isolated PostgreSQL store for a test: [`TestPostgres::schema`] gives a uniquely
//! named schema on the one throwaway server of the test run, dropped (with everything in it)
//! when the value is dropped.
//!
//! The server is `scripts/postgres.sh`'s (which `scripts/test.sh` wraps the test run in), found
//! through `GENESYS_BI_TEST_POSTGRES`. Without it a test that asks for PostgreSQL fails, saying
//! how to run it: never skipped, so a run that was meant to cover PostgreSQL cannot pass
//! without it. (`scripts/postgres.sh cargo test -p warehouse` runs one crate's tests so.)

use std::sync::atomic::{AtomicU32, Ordering};

use warehouse::testing::Stored;
use warehouse::{PostgresConfig, PostgresStore, StoreConfig};

/// The variable `scripts/postgres.sh` exports: the server's URL, with its password.
pub const SERVER_VARIABLE: &str = "GENESYS_BI_TEST_POSTGRES";

/// The throwaway server's URL (`postgres://postgres:…@127.0.0.1:port/postgres`).
pub fn server_url() -> String {
    std::env::var(SERVER_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{SERVER_VARIABLE} is not set: this test needs the throwaway PostgreSQL server that \
             scripts/test.sh starts; run it, or one crate's tests with \
             `scripts/postgres.sh cargo test -p <crate>`"
        )
    })
}

/// A schema of its own on the test run's server.
pub struct TestPostgres {
    url: String,
    config: PostgresConfig,
}

impl TestPostgres {
    /// A new, empty, uniquely named schema (created by the store when it is first opened).
    pub fn schema() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let url = server_url();
        let name = format!(
            "t{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            fastrand_suffix()
        );
        let config = PostgresConfig::parse(&url, &name, None, None)
            .unwrap_or_else(|e| panic!("{SERVER_VARIABLE} can't be used: {e}"));
        Self { url, config }
    }

    /// The server's URL, password included (for a child process's `[store] postgres`, or psql).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        self.config.schema()
    }

    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig::postgres(self.config.clone())
    }

    /// The store in this schema, opened (and its tables made).
    pub fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.config)
            .unwrap_or_else(|e| panic!("opening the test's PostgreSQL store: {e}"))
    }
}

impl TestPostgres {
    /// The server's URL as `user` would write it, without a password
    /// (`postgres://user@127.0.0.1:port/postgres`).
    pub fn url_for(&self, user: &str) -> String {
        let (_, place) = self
            .url
            .rsplit_once('@')
            .expect("the test server's URL names its user");
        format!("postgres://{user}@{place}")
    }

    /// The server's URL without its password (`[store] postgres = …`; the password then comes
    /// from [`Self::password`] in the environment).
    pub fn url_without_password(&self) -> String {
        self.url_for("postgres")
    }

    /// The server's password, as `GENESYS_BI_POSTGRES_PASSWORD` would hold it.
    pub fn password(&self) -> String {
        let (user_info, _) = self.url.rsplit_once('@').expect("a user in the URL");
        let (_, password) = user_info
            .rsplit_once(':')
            .expect("the test server's URL holds its password");
        password.to_string()
    }

    /// Every row of a table of this schema, as `Workspace::dump` gives SQLite's: equal for two
    /// stores holding the same rows.
    pub fn dump(&self, table: &str) -> Vec<Vec<Stored>> {
        warehouse::postgres::testing::sorted_values(&self.config, table)
            .unwrap_or_else(|e| panic!("reading {table} from PostgreSQL: {e}"))
    }

    /// A new login role with a password and PostgreSQL's default privileges only (it may
    /// connect, not create a schema); dropped with the value.
    pub fn role_without_privileges(&self) -> TestRole {
        let name = format!("{}_role", self.name());
        let password = format!("pw-{}", fastrand_suffix());
        warehouse::postgres::testing::create_role(&self.config, &name, &password)
            .unwrap_or_else(|e| panic!("creating role {name}: {e}"));
        TestRole {
            name,
            password,
            admin: self.config.clone(),
        }
    }
}

/// A login role of a test's own (cluster-wide, so named after the test's schema).
pub struct TestRole {
    pub name: String,
    pub password: String,
    admin: PostgresConfig,
}

impl Drop for TestRole {
    fn drop(&mut self) {
        if let Err(e) = warehouse::postgres::testing::drop_role(&self.admin, &self.name) {
            eprintln!("dropping test role {}: {e}", self.name);
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Err(e) = PostgresStore::drop_schema(&self.config) {
            // Not a panic while unwinding from a failed test; the cluster goes at exit anyway.
            eprintln!("dropping test schema {}: {e}", self.name());
        }
    }
}

/// A few letters that differ between runs that reuse a pid (containers).
fn fastrand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}
