//! `[lake]` of `genesys-bi.toml`: where `sync` and `run` publish the store's committed windows
//! as Parquet (a folder or `s3://bucket/prefix`), in which format, and which datasets. S3
//! credentials and region come from the `AWS_*` environment variables, never from the file.

use std::path::Path;

use serde::Deserialize;

use crate::config::{Config, ConfigError, ConfigFault};

/// `[lake]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeSection {
    /// `s3://bucket/prefix` or a folder (relative to the config file's folder).
    pub path: String,
    #[serde(default)]
    pub format: LakeFormat,
    /// The datasets published; all of them when absent.
    #[serde(default)]
    pub datasets: Option<Vec<String>>,
    /// An S3-compatible store's URL (MinIO, Ceph, R2); AWS itself when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LakeFormat {
    #[default]
    Parquet,
}

/// `[lake]` checked and typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeConfig {
    pub location: lake::LakeLocation,
    pub format: LakeFormat,
    pub datasets: Option<Vec<String>>,
}

impl Config {
    /// The lake, if `[lake]` is set, or every fault in it.
    pub fn lake_config(&self) -> Result<Option<LakeConfig>, ConfigError> {
        let Some(section) = &self.lake else {
            return Ok(None);
        };
        let mut faults = Vec::new();
        let location = match lake::LakeLocation::parse(&section.path, section.endpoint.as_deref()) {
            Ok(lake::LakeLocation::Local(folder)) => {
                let base = self
                    .file
                    .as_deref()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                Some(lake::LakeLocation::Local(base.join(folder)))
            }
            Ok(s3) => Some(s3),
            Err(e) => {
                let field = match e {
                    lake::LocationError::Endpoint(_) | lake::LocationError::EndpointOnLocal(_) => {
                        "lake.endpoint"
                    }
                    _ => "lake.path",
                };
                faults.push(lake_fault(field, e.to_string()));
                None
            }
        };
        for name in section.datasets.iter().flatten() {
            if !self.datasets.iter().any(|d| &d.name == name) {
                let known: Vec<&str> = self.datasets.iter().map(|d| d.name.as_str()).collect();
                faults.push(lake_fault(
                    "lake.datasets",
                    format!(
                        "`{name}` is not a dataset of this file (it has: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        match location {
            Some(location) if faults.is_empty() => Ok(Some(LakeConfig {
                location,
                format: section.format,
                datasets: section.datasets.clone(),
            })),
            _ => Err(ConfigError::Invalid(faults)),
        }
    }
}

fn lake_fault(field: &str, message: String) -> ConfigFault {
    ConfigFault {
        dataset: None,
        field: field.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lake: &str) -> Result<Option<LakeConfig>, ConfigError> {
        let text = format!(
            "[[datasets]]\nname = \"queue_performance\"\nmetrics = [\"nOffered\"]\n\n[lake]\n{lake}"
        );
        let mut config = Config::parse(&text, Path::new("t.toml")).unwrap();
        config.file = Some("/etc/genesys-bi/genesys-bi.toml".into());
        config.lake_config()
    }

    #[test]
    fn a_lake_is_a_folder_beside_the_config_or_an_s3_prefix() {
        let local = parse("path = \"lake\"").unwrap().unwrap();
        assert_eq!(
            local.location,
            lake::LakeLocation::Local("/etc/genesys-bi/lake".into())
        );
        assert_eq!(local.format, LakeFormat::Parquet);
        let s3 = parse(
            "path = \"s3://bi/genesys\"\nendpoint = \"http://minio:9000\"\ndatasets = [\"queue_performance\"]",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s3.location.to_string(), "s3://bi/genesys");
        assert_eq!(s3.datasets.unwrap(), ["queue_performance"]);
    }

    #[test]
    fn every_lake_fault_names_its_field() {
        let error = parse("path = \"gs://x\"\ndatasets = [\"nope\"]").unwrap_err();
        let said = error.to_string();
        assert!(said.contains("field `lake.path`"), "{said}");
        assert!(
            said.contains("field `lake.datasets`: `nope` is not a dataset"),
            "{said}"
        );
        let error = parse("path = \"/srv/lake\"\nendpoint = \"http://x\"").unwrap_err();
        assert!(error.to_string().contains("lake.endpoint"), "{error}");
        let text = "[lake]\npath = \"/srv/lake\"\nformat = \"csv\"";
        assert!(Config::parse(text, Path::new("t.toml")).is_err());
    }

    #[test]
    fn no_lake_section_is_no_lake() {
        let config = Config::parse("", Path::new("t.toml")).unwrap();
        assert_eq!(config.lake_config().unwrap(), None);
    }
}
