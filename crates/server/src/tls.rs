//! HTTPS: the PEM certificate chain and key of `[server] tls_cert` / `tls_key`, read once at
//! start-up into a rustls acceptor (aws-lc-rs, the provider reqwest already builds). Every fault
//! names the file at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// The certificate chain and private key files (PEM) of HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Leaf certificate first, then the intermediates.
    pub cert: PathBuf,
    /// PKCS#8, PKCS#1 or SEC1 private key of the leaf certificate.
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading the TLS certificate {path}: {source}")]
    ReadCert { path: PathBuf, source: pem::Error },
    #[error("the TLS certificate file {path} holds no PEM `CERTIFICATE`")]
    NoCert { path: PathBuf },
    #[error("reading the TLS key {path}: {source}")]
    ReadKey { path: PathBuf, source: pem::Error },
    #[error("the TLS key file {path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("the TLS key {key} does not belong to the certificate {cert}: {source}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("setting up TLS with {cert} and {key}: {source}")]
    Config {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// Reads and checks both files, then builds the acceptor (ALPN http/1.1: the server speaks
/// HTTP/1.1 only).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: files.key.clone(),
        },
        source => TlsError::ReadKey {
            path: files.key.clone(),
            source,
        },
    })?;
    let config_error = |source| TlsError::Config {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|source| match source {
            rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source,
            },
            other => config_error(other),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::ReadCert {
            path: path.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}
