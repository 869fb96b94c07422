//! What is wrong with a configuration file: every fault located by dataset and field, all
//! reported at once.

use std::fmt;
use std::path::PathBuf;

/// One fault in the configuration, located precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFault {
    pub dataset: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dataset {
            Some(d) => write!(f, "dataset `{d}`, field `{}`: {}", self.field, self.message),
            None => write!(f, "field `{}`: {}", self.field, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config has {} fault(s):\n{}", .0.len(), .0.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigFault>),
}
