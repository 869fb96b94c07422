//! `[server]` of `genesys-bi.toml`: how the BI server listens and protects itself. Read as
//! written (`ServerSection`), then checked once into typed `ServerSettings`; every fault names
//! its field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::faults::{ConfigError, ConfigFault};

/// `[server]` as written in the file; every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on (`--listen` overrides it). Default `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Connections served at once; more wait in the kernel's backlog. Default 1024.
    pub max_connections: Option<usize>,
    /// Longest wait for an answer's headers (ISO-8601, default `PT60S`); a streamed export may
    /// take longer to send its body.
    pub request_timeout: Option<String>,
    /// Longest time a client may take to send its request headers, or to finish the TLS
    /// handshake (default `PT10S`): a slowloris client is cut off instead of holding a
    /// connection. The clock also runs while a keep-alive connection waits for its next
    /// request, so an idle connection is closed after this long too.
    pub header_read_timeout: Option<String>,
    /// A connection on which no byte moves either way for this long is closed (default
    /// `PT120S`): a client that stops reading an answer lets go of it. Never shorter than
    /// `request_timeout`, which a slow answer may spend in silence.
    pub idle_timeout: Option<String>,
    /// On SIGTERM or Ctrl-C, answers in flight get this long to finish (default `PT30S`).
    pub shutdown_timeout: Option<String>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The certificate and key files of HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[server]` checked and typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub max_connections: usize,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            tls: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

fn fault(field: &str, message: String) -> ConfigFault {
    ConfigFault {
        dataset: None,
        field: format!("server.{field}"),
        message,
    }
}

impl ServerSection {
    /// Checks every field; all faults at once.
    pub fn settings(&self) -> Result<ServerSettings, ConfigError> {
        let mut faults = Vec::new();
        let defaults = ServerSettings::default();
        let listen = match &self.listen {
            None => defaults.listen,
            Some(raw) => raw.parse().unwrap_or_else(|_| {
                faults.push(fault(
                    "listen",
                    format!("`{raw}` is not an address such as 127.0.0.1:8080 or [::]:443"),
                ));
                defaults.listen
            }),
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                faults.push(fault(
                    "tls_key",
                    "is missing: tls_cert needs its key".into(),
                ));
                None
            }
            (None, Some(_)) => {
                faults.push(fault(
                    "tls_cert",
                    "is missing: tls_key needs its certificate".into(),
                ));
                None
            }
        };
        let max_connections = match self.max_connections {
            None => defaults.max_connections,
            Some(0) => {
                faults.push(fault("max_connections", "must be at least 1".into()));
                defaults.max_connections
            }
            Some(n) => n,
        };
        let mut duration = |field: &str, raw: &Option<String>, default: Duration| match raw {
            None => default,
            Some(raw) => match crate::iso_duration::parse_duration(raw) {
                Ok(d) if !d.is_zero() => d.unsigned_abs(),
                Ok(_) => {
                    faults.push(fault(field, format!("`{raw}` must be longer than zero")));
                    default
                }
                Err(message) => {
                    faults.push(fault(field, message));
                    default
                }
            },
        };
        let request_timeout = duration(
            "request_timeout",
            &self.request_timeout,
            defaults.request_timeout,
        );
        let header_read_timeout = duration(
            "header_read_timeout",
            &self.header_read_timeout,
            defaults.header_read_timeout,
        );
        let idle_timeout = duration("idle_timeout", &self.idle_timeout, defaults.idle_timeout);
        let shutdown_timeout = duration(
            "shutdown_timeout",
            &self.shutdown_timeout,
            defaults.shutdown_timeout,
        );
        if faults.is_empty() {
            Ok(ServerSettings {
                listen,
                tls,
                max_connections,
                request_timeout,
                header_read_timeout,
                idle_timeout,
                shutdown_timeout,
            })
        } else {
            Err(ConfigError::Invalid(faults))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_absent() {
        let settings = ServerSection::default().settings().unwrap();
        assert_eq!(settings, ServerSettings::default());
    }

    #[test]
    fn every_fault_is_named() {
        let section = ServerSection {
            listen: Some("localhost".into()),
            tls_cert: Some("cert.pem".into()),
            max_connections: Some(0),
            request_timeout: Some("30s".into()),
            ..ServerSection::default()
        };
        let ConfigError::Invalid(faults) = section.settings().unwrap_err() else {
            panic!("expected field faults");
        };
        let fields: Vec<&str> = faults.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "server.listen",
                "server.tls_key",
                "server.max_connections",
                "server.request_timeout"
            ]
        );
    }
}
