//! Where the lake lives: a local folder or an S3 bucket and prefix (any S3-compatible store
//! through `endpoint`), parsed once from the configuration and opened as an object store.
//! S3 credentials and region come from the `AWS_*` environment variables only.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

/// The lake's root, as configured (`path` and `endpoint` of `[lake]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    /// A folder on this machine (created if missing).
    Local(PathBuf),
    /// `s3://bucket/prefix`, with an optional endpoint for S3-compatible stores.
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("`{0}` has no bucket: write s3://bucket/prefix")]
    NoBucket(String),
    #[error("`{0}`: only s3:// URLs or local folders are lakes")]
    Scheme(String),
    #[error("the lake path is empty")]
    Empty,
    #[error("endpoint `{0}` must start with http:// or https://")]
    Endpoint(String),
    #[error("endpoint is for S3 lakes; `{0}` is a local folder")]
    EndpointOnLocal(String),
}

impl LakeLocation {
    /// `path` as in the configuration: `s3://bucket/prefix` or a folder; `endpoint` for S3 only.
    pub fn parse(path: &str, endpoint: Option<&str>) -> Result<Self, LocationError> {
        let path = path.trim();
        if path.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(endpoint) = endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(LocationError::Endpoint(endpoint.to_string()));
        }
        let Some((scheme, rest)) = path.split_once("://") else {
            if endpoint.is_some() {
                return Err(LocationError::EndpointOnLocal(path.to_string()));
            }
            return Ok(LakeLocation::Local(PathBuf::from(path)));
        };
        if scheme != "s3" {
            return Err(LocationError::Scheme(path.to_string()));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LocationError::NoBucket(path.to_string()));
        }
        Ok(LakeLocation::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: endpoint.map(str::to_string),
        })
    }

    /// The object store at the lake's root (its prefix already applied). S3 settings come
    /// from the `AWS_*` environment variables, then `s3_settings` (`aws_access_key_id`,
    /// `aws_region`, …: object_store's names), which override them.
    pub fn open(
        &self,
        s3_settings: &[(&str, &str)],
    ) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
        match self {
            LakeLocation::Local(folder) => {
                std::fs::create_dir_all(folder).map_err(|source| object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(source),
                })?;
                // Renames and files reach the disk before the manifest names them.
                let local = LocalFileSystem::new_with_prefix(folder)?.with_fsync(true);
                Ok(Arc::new(local))
            }
            LakeLocation::S3 {
                bucket,
                prefix,
                endpoint,
            } => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (key, value) in s3_settings {
                    builder = builder.with_config(key.parse()?, *value);
                }
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                let s3 = builder.build()?;
                if prefix.is_empty() {
                    Ok(Arc::new(s3))
                } else {
                    Ok(Arc::new(PrefixStore::new(s3, prefix.as_str())))
                }
            }
        }
    }

    /// Whether a replace is an atomic rename of a staged file (a folder) rather than one PUT.
    pub(crate) fn stages_files(&self) -> bool {
        matches!(self, LakeLocation::Local(_))
    }
}

impl std::fmt::Display for LakeLocation {
    /// How messages name the lake (never a credential: those stay in the environment).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeLocation::Local(folder) => write!(f, "{}", folder.display()),
            LakeLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            LakeLocation::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_their_target() {
        assert_eq!(
            LakeLocation::parse("s3://bi-lake/genesys/prod/", None).unwrap(),
            LakeLocation::S3 {
                bucket: "bi-lake".into(),
                prefix: "genesys/prod".into(),
                endpoint: None
            }
        );
        assert_eq!(
            LakeLocation::parse("/srv/lake", None).unwrap(),
            LakeLocation::Local("/srv/lake".into())
        );
        let minio = LakeLocation::parse("s3://b", Some("http://127.0.0.1:9000")).unwrap();
        assert_eq!(minio.to_string(), "s3://b");
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        for (path, endpoint) in [
            ("", None),
            ("s3:///prefix", None),
            ("gs://bucket", None),
            ("/srv/lake", Some("http://x")),
            ("s3://b", Some("ftp://x")),
        ] {
            assert!(LakeLocation::parse(path, endpoint).is_err(), "{path}");
        }
    }
}
