//! Configuration: defaults that work with no file at all, then `devex.toml`
//! (or the file `--config` names), then `DEVEX_*` environment variables
//! (nested keys with `__`, e.g. `DEVEX_DEMO__SEED=7`), then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const DEFAULT_CONFIG_FILE: &str = "devex.toml";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// The lake folder.
    pub lake: PathBuf,
    /// Address `devex serve` listens on.
    pub addr: SocketAddr,
    /// Key of the pseudonymous developer ids. When unset, a random key is
    /// generated once and kept in the lake's `_devex/` folder.
    pub identity_secret: Option<String>,
    pub demo: DemoConfig,
    /// What counts as production and as rework, and the DORA levels to use.
    pub dora: analytics::dora::DoraSettings,
    /// Minimum group size of people measures and the context-switch threshold.
    pub devex: analytics::devex::DevexSettings,
    pub surveys: SurveysConfig,
    /// The rolling window and refresh schedule of the /metrics gauges.
    pub metrics: crate::scorecard::MetricsConfig,
    pub github: GithubConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GithubConfig {
    /// Secret of `POST /webhooks/github` (also DEVEX_GITHUB_WEBHOOK_SECRET).
    pub webhook_secret: Option<String>,
    /// The label that makes an issue an incident.
    pub incident_label: String,
    /// Token of `devex ingest github` (else GITHUB_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// API root; https://HOST/api/v3 for GitHub Enterprise Server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Items per page (1 to 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// First backoff after a 5xx, doubled per attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_ms: Option<u64>,
    /// Attempts per request before the sync stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<u32>,
    /// The longest rate-limit wait sat out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u64>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            webhook_secret: None,
            incident_label: "incident".into(),
            token: None,
            base_url: None,
            per_page: None,
            retry_backoff_ms: None,
            retry_attempts: None,
            max_wait_seconds: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SurveysConfig {
    /// Smallest group whose survey results are shown (never below 3).
    pub anonymity_threshold: u32,
    /// A survey definition file instead of the shipped DevEx quarterly one.
    pub definition: Option<PathBuf>,
}

impl Default for SurveysConfig {
    fn default() -> Self {
        SurveysConfig {
            anonymity_threshold: surveys::DEFAULT_ANONYMITY_THRESHOLD,
            definition: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DemoConfig {
    pub seed: u64,
    pub scale: f64,
    pub months: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lake: PathBuf::from("devex-lake"),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            identity_secret: None,
            demo: DemoConfig::default(),
            dora: analytics::dora::DoraSettings::default(),
            devex: analytics::devex::DevexSettings::default(),
            surveys: SurveysConfig::default(),
            metrics: crate::scorecard::MetricsConfig::default(),
            github: GithubConfig::default(),
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: 42,
            scale: 1.0,
            months: 12,
        }
    }
}

impl Config {
    /// Loads the configuration. An explicitly named file must exist;
    /// `devex.toml` in the working folder is read when present.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.is_file() => {
                return Err(Error::Config(format!(
                    "config file {} does not exist; create it or leave out --config",
                    path.display()
                )))
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        figment
            .merge(Env::prefixed("DEVEX_").split("__"))
            .extract()
            .map_err(|e| Error::Config(format!("{e}; see the README's configuration section")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error
    fn defaults_then_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None).unwrap(), Config::default());
            jail.create_file("devex.toml", "lake = \"/data/lake\"\n[demo]\nseed = 9\n")?;
            let config = Config::load(None).unwrap();
            assert_eq!(config.lake, PathBuf::from("/data/lake"));
            assert_eq!(config.demo.seed, 9);
            jail.set_env("DEVEX_ADDR", "127.0.0.1:9999");
            jail.set_env("DEVEX_DEMO__SCALE", "0.5");
            let config = Config::load(None).unwrap();
            assert_eq!(config.addr.port(), 9999);
            assert_eq!(config.demo.scale, 0.5);
            jail.set_env("DEVEX_ADDR", "not an address");
            assert!(Config::load(None).unwrap_err().to_string().contains("addr"));
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}
