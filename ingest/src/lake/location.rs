//! Where a lake lies: a local folder, or a prefix in an object store
//! (`s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`)
//! reached with each cloud's standard credentials: the `AWS_*`, `GOOGLE_*`
//! and `AZURE_*` environment variables (`AWS_ENDPOINT_URL` and
//! `AWS_ALLOW_HTTP=true` for a local S3 server), the AWS shared config and
//! credentials files (`AWS_PROFILE`), Google's application default
//! credentials, and a managed identity or (`AZURE_USE_AZURE_CLI=true`)
//! the Azure CLI's login.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A lake in an object store.
#[derive(Clone)]
pub struct Remote {
    /// The lake's URL, without a trailing slash: `s3://bucket/prefix`.
    pub url: String,
    /// The bucket's URL (`s3://bucket`), under which query engines register
    /// [`Remote::bucket`].
    pub bucket_url: url::Url,
    /// The bucket's store; its paths start at the bucket's root.
    pub bucket: Arc<dyn ObjectStore>,
    /// The lake's prefix in the bucket (empty for the bucket's root).
    pub prefix: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// What `--lake` names.
#[derive(Debug)]
pub enum Location {
    Folder(PathBuf),
    Remote(Remote),
}

impl Location {
    /// Reads `--lake`: a URL with a supported scheme is a remote lake, a
    /// `file://` URL or anything else a folder.
    pub fn parse(lake: &Path) -> Result<Location> {
        let text = lake.to_string_lossy();
        let Some(scheme) = url_scheme(&text) else {
            return Ok(Location::Folder(lake.to_path_buf()));
        };
        let unsupported = || Error::UnsupportedLake {
            lake: text.to_string(),
            scheme: scheme.to_string(),
        };
        if scheme.eq_ignore_ascii_case("file") {
            let url = url::Url::parse(&text).map_err(|_| unsupported())?;
            let path = url.to_file_path().map_err(|()| unsupported())?;
            return Ok(Location::Folder(path));
        }
        let url = url::Url::parse(text.trim_end_matches('/')).map_err(|e| Error::InvalidFile {
            file: text.to_string(),
            message: format!("not a lake URL ({e}); write it as s3://BUCKET/PREFIX"),
        })?;
        let built = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => aws_builder()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            "gs" => GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            // The Azure CLI's login only with AZURE_USE_AZURE_CLI=true: set
            // by default it would hide a VM's managed identity.
            "az" | "azure" | "abfs" | "abfss" => MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            _ => return Err(unsupported()),
        };
        let bucket = built.map_err(|source| Error::Storage {
            path: format!(
                "{text} (check the bucket name and the cloud's credentials in the environment)"
            ),
            source,
        })?;
        let host = url.host_str().unwrap_or_default();
        let bucket_url = url::Url::parse(&format!("{}://{host}", url.scheme())).map_err(|e| {
            Error::InvalidFile {
                file: text.to_string(),
                message: format!("no bucket in the URL ({e}); write it as s3://BUCKET/PREFIX"),
            }
        })?;
        let prefix = url.path().trim_matches('/').to_string();
        Ok(Location::Remote(Remote {
            url: url.as_str().trim_end_matches('/').to_string(),
            bucket_url,
            bucket,
            prefix,
        }))
    }
}

/// The scheme of `text` when it is a URL (`scheme://...`).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let is_scheme = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme)
}

/// An S3 builder from the environment, as the AWS SDKs read it: the
/// `AWS_*` variables first, then the profile (`AWS_PROFILE`, else
/// `default`) of `~/.aws/credentials` and `~/.aws/config` for what they
/// leave unset.
fn aws_builder() -> AmazonS3Builder {
    use object_store::aws::AmazonS3ConfigKey as Key;
    let mut builder = AmazonS3Builder::from_env();
    for (key, value) in super::aws_profile::settings() {
        if builder.get_config_value(&key).is_none() {
            builder = builder.with_config(key, value);
        }
    }
    if builder.get_config_value(&Key::Region).is_none() {
        if let Some(region) = builder.get_config_value(&Key::DefaultRegion) {
            builder = builder.with_region(region);
        }
    }
    builder
}

/// The local folder that holds a remote lake's derived files (a cache:
/// they are computed from the lake's tables) and their leases:
/// `DEVEX_CACHE_DIR`, else `$XDG_CACHE_HOME/devex`, else `~/.cache/devex`,
/// with a folder per lake URL.
pub fn cache_folder(url: &str) -> PathBuf {
    let base = std::env::var_os("DEVEX_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("devex")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/devex")))
        .unwrap_or_else(|| std::env::temp_dir().join("devex-cache"));
    let readable: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let digest = hex::encode(&Sha256::digest(url.as_bytes())[..6]);
    base.join(format!("{}-{digest}", readable.trim_matches('-')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lakes_are_folders_unless_named_by_a_supported_url() {
        assert!(matches!(
            Location::parse(Path::new("devex-lake")).unwrap(),
            Location::Folder(_)
        ));
        assert!(matches!(
            Location::parse(Path::new("./lakes/a://b")).unwrap(),
            Location::Folder(_)
        ));
        match Location::parse(Path::new("file:///var/lake")).unwrap() {
            Location::Folder(path) => assert_eq!(path, PathBuf::from("/var/lake")),
            other => panic!("{other:?}"),
        }
        let error = Location::parse(Path::new("hdfs://x/y"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`hdfs://`"), "{error}");
    }

    #[test]
    fn an_s3_url_names_its_bucket_and_prefix() {
        let Location::Remote(remote) =
            Location::parse(Path::new("s3://devex-bucket/org/lake/")).unwrap()
        else {
            panic!("not remote")
        };
        assert_eq!(remote.url, "s3://devex-bucket/org/lake");
        assert_eq!(remote.bucket_url.as_str(), "s3://devex-bucket");
        assert_eq!(remote.prefix, "org/lake");
    }

    #[test]
    fn each_lake_url_has_its_own_cache_folder() {
        let a = cache_folder("s3://b/one");
        assert_eq!(a, cache_folder("s3://b/one"));
        assert_ne!(a, cache_folder("s3://b/one-two"));
        assert!(a.to_string_lossy().contains("s3---b-one-"), "{a:?}");
    }
}
