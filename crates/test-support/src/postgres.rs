//! A fresh, isolated PostgreSQL store for a test: [`TestPostgres::schema`] gives a uniquely
//! named schema on the one throwaway server of the test run, dropped (with everything in it)
//! when the value is dropped. A test that restarts or stops the server starts a
//! [`TestCluster`] of its own instead, so no other test is hit.
//!
//! The server is `scripts/postgres.sh`'s (which `scripts/test.sh` wraps the test run in), found
//! through `GENESYS_BI_TEST_POSTGRES`. Without it a test that asks for PostgreSQL fails, saying
//! how to run it: never skipped, so a run that was meant to cover PostgreSQL cannot pass
//! without it. (`scripts/postgres.sh cargo test -p warehouse` runs one crate's tests so.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
        Self::schema_at(&server_url())
    }

    /// Like [`TestPostgres::schema`], on the server at `url` (a [`TestCluster`]'s).
    pub fn schema_at(url: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let url = url.to_string();
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

/// The variable `scripts/postgres.sh` exports: the folder of PostgreSQL's programs.
pub const BIN_VARIABLE: &str = "GENESYS_BI_TEST_POSTGRES_BIN";

/// A PostgreSQL cluster of a test's own, set up as `scripts/postgres.sh` sets up the shared one
/// (`initdb` into a temporary folder as the `postgres` user when run as root, a free loopback
/// port, password authentication over TCP, fsync off): for tests that restart or stop the
/// server. Stopped and removed when dropped.
pub struct TestCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    password: String,
}

impl TestCluster {
    /// `initdb` and `pg_ctl start`; panics saying what failed.
    pub fn start() -> Self {
        let bin = PathBuf::from(std::env::var(BIN_VARIABLE).unwrap_or_else(|_| {
            panic!(
                "{BIN_VARIABLE} is not set: this test starts a PostgreSQL server of its own with \
                 the programs scripts/postgres.sh finds; run it under that script"
            )
        }));
        let dir = tempfile::Builder::new()
            .prefix("genesys-bi-pg-own.")
            .tempdir()
            .expect("a temporary folder");
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            password: format!("test-{}", fastrand_suffix()),
        };
        let pwfile = cluster.dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{}\n", cluster.password)).expect("pwfile written");
        give_to_postgres(cluster.dir.path());
        give_to_postgres(&pwfile);
        cluster.as_owner(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                &format!("--pwfile={}", pwfile.display()),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        cluster.pg_ctl(&["-o", &cluster.options(), "start"]);
        cluster
    }

    fn options(&self) -> String {
        format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        )
    }

    /// `postgres://postgres:…@127.0.0.1:port/postgres`, password included.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A schema of its own on this cluster; drop it before the cluster.
    pub fn schema(&self) -> TestPostgres {
        TestPostgres::schema_at(&self.url())
    }

    /// A restart that takes `down` (`pg_ctl stop -m fast`, then `start`): every session ended
    /// at once, and connections refused until the server is back, so whatever the clients do
    /// meanwhile meets the outage (a plain `restart` is often back before they look).
    pub fn restart_after(&self, down: std::time::Duration) {
        self.pg_ctl(&["-m", "fast", "stop"]);
        std::thread::sleep(down);
        self.pg_ctl(&["-o", &self.options(), "start"]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `pg_ctl -D data -l log -w -t 60 args…`; the log named, so the server never holds the
    /// test's stdout.
    fn pg_ctl(&self, args: &[&str]) {
        let log = self.log().display().to_string();
        let mut all = vec!["-D", &self.data(), "-l", &log, "-w", "-t", "60"]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.as_owner("pg_ctl", &all);
    }

    /// One of PostgreSQL's programs, as the `postgres` user when the test runs as root (the
    /// server refuses root); panics with its output and the server's log unless it succeeds.
    fn as_owner(&self, program: &str, args: &[&str]) {
        if let Err(failed) = self.try_as_owner(program, args) {
            panic!(
                "{failed}\nserver log:\n{}",
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
        }
    }

    fn try_as_owner(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", path.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{program} {args:?} failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            ));
        }
        Ok(())
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Immediate: a throwaway cluster, removed with its folder next. Not a panic while
        // unwinding from a failed test.
        let data = self.data();
        if let Err(failed) = self.try_as_owner("pg_ctl", &["-D", &data, "-m", "immediate", "stop"])
        {
            eprintln!("stopping the test's own PostgreSQL cluster: {failed}");
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Root's files become the `postgres` user's, for initdb and the server (as the script does).
fn give_to_postgres(path: &Path) {
    if !is_root() {
        return;
    }
    let status = Command::new("chown")
        .arg("postgres:")
        .arg(path)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown postgres: {}", path.display());
}

/// A loopback port nothing listens on now (the server binds it a moment later).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}
