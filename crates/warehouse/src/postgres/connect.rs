//! Connecting: the store's own runtime, the pool (TLS through rustls as `sslmode` says), the
//! schema created or refused naming the privilege, and the advisory lock DDL runs under.

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::GenericClient;

use super::Fail;
use super::config::{PostgresConfig, SslMode};
use super::error::PostgresError;
use super::migrations::DDL_LOCK;
use crate::schema::quote;
use crate::{Result, StoreError};

/// Connections a store keeps: the sync writes a few datasets at once, each window on one.
const POOL_SIZE: usize = 4;

/// A runtime of one worker thread that drives the pool's connections; shut down in the
/// background when the store is dropped, so dropping a store inside another runtime (a test,
/// the server) never blocks or panics.
pub(crate) struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    pub(crate) fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("genesys-bi-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(PostgresError::Pool(e.to_string())))?;
        Ok(Self(Some(runtime)))
    }

    /// Runs the future `work` makes to completion. Called from inside another runtime (an
    /// async test, a caller that forgot `spawn_blocking`), where blocking on this one would
    /// panic, it runs on a thread of its own for the call.
    pub(crate) fn block_on_anywhere<F: std::future::Future>(
        &self,
        work: impl FnOnce() -> F + Send,
    ) -> F::Output
    where
        F::Output: Send,
    {
        let runtime = self.0.as_ref().expect("runtime until drop");
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(work());
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(work()))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The pool; connects lazily, on the first [`client`].
pub(crate) fn pool(config: &PostgresConfig) -> Result<Pool> {
    let tls = tls_connector(config.ssl_mode())?;
    let manager = Manager::from_config(
        config.connection().clone(),
        tls,
        ManagerConfig {
            // A failed write's rollback is already queued on its connection when it returns
            // (see `windows::write`); a closed connection is still replaced.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Postgres(PostgresError::Pool(e.to_string())))
}

/// A pooled connection; a failure to connect is the driver's error, told apart by the caller.
pub(crate) async fn client(pool: &Pool) -> Result<Object, Fail> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => Fail::Db(e),
        other => Fail::from(PostgresError::Pool(other.to_string())),
    })
}

/// A connection outside any pool, and its half that moves its messages, for the caller to
/// drive (`driver::Driver`): an export's, read on one thread.
pub(crate) async fn unpooled(
    config: &PostgresConfig,
) -> Result<(tokio_postgres::Client, super::driver::ConnectionTask), Fail> {
    let tls = tls_connector(config.ssl_mode())?;
    let (client, connection) = config.connection().connect(tls).await?;
    // Outside tokio's cooperative budget: polled inside a task (a read made from async code),
    // a spent budget answers "pending" and defers the wake to the task's next yield, which a
    // thread blocked in `driver::block_on` never makes.
    Ok((client, Box::pin(tokio::task::unconstrained(connection))))
}

/// rustls as `sslmode` asks: `verify-full` checks the certificate against the system's roots
/// and the host name; `prefer` and `require` encrypt without verifying, as libpq's do.
fn tls_connector(mode: SslMode) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Postgres(PostgresError::Tls(e.to_string())))?;
    let config = match mode {
        SslMode::VerifyFull => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unverified::Unverified(provider)))
            .with_no_client_auth(),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Creates the store's schema if missing; when the role may not, says which privilege that
/// takes. A schema that exists but that the role may not create tables in is refused too.
pub(crate) async fn ensure_schema(
    tx: &impl GenericClient,
    config: &PostgresConfig,
) -> Result<(), Fail> {
    let schema = config.schema();
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                    has_database_privilege(current_database(), 'CREATE')",
            &[&schema],
        )
        .await?;
    let (exists, may_create_schema): (bool, bool) = (row.get(0), row.get(1));
    let refuse = |privilege: &str, on: String, detail: String| PostgresError::Privilege {
        role: config.user().to_string(),
        privilege: privilege.to_string(),
        on: Some(on),
        detail,
    };
    if !exists {
        if !may_create_schema {
            return Err(refuse(
                "CREATE",
                format!("database {}", config.database()),
                format!(
                    "schema `{schema}` does not exist and the role may not create it; create it for the role (CREATE SCHEMA {schema} AUTHORIZATION {role}) or grant it (GRANT CREATE ON DATABASE {db} TO {role})",
                    role = config.user(),
                    db = config.database()
                ),
            )
            .into());
        }
        tx.batch_execute(&format!("CREATE SCHEMA {}", quote(schema)))
            .await?;
        return Ok(());
    }
    let may_create_tables: bool = tx
        .query_one("SELECT has_schema_privilege($1, 'CREATE')", &[&schema])
        .await?
        .get(0);
    if !may_create_tables {
        return Err(refuse(
            "CREATE",
            format!("schema {schema}"),
            format!(
                "the store's tables live in schema `{schema}` (GRANT CREATE, USAGE ON SCHEMA {schema} TO {})",
                config.user()
            ),
        )
        .into());
    }
    Ok(())
}

/// Takes the schema's DDL lock until the transaction ends: dataset tables and migrations are
/// changed by one process at a time.
pub(crate) async fn ddl_lock(tx: &impl GenericClient, config: &PostgresConfig) -> Result<(), Fail> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&DDL_LOCK, &config.schema()],
    )
    .await?;
    Ok(())
}

mod unverified {
    //! The certificate check of `sslmode=require`/`prefer`: none (the connection is encrypted,
    //! the server not authenticated), as libpq does; signatures are still checked.
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, Error, SignatureScheme};
    use std::sync::Arc;

    #[derive(Debug)]
    pub(super) struct Unverified(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for Unverified {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
