//! Configuration: defaults that work with no file at all, then `devex.toml`
//! (or the file `--config` names), then `DEVEX_*` environment variables
//! (nested keys with `__`, e.g. `DEVEX_DEMO__SEED=7`), then command-line flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ingest::sources::Registry;
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
    pub metrics: MetricsConfig,
    /// How often `serve` merges small files.
    pub compaction: CompactionConfig,
    /// Where metric SQL runs: in this process or on a Ballista cluster.
    pub engine: EngineConfig,
    /// The currency costs are reported in, and the attribution rules.
    pub cost: analytics::cost::CostSettings,
    /// The platform adoption funnels.
    pub adoption: analytics::adoption::AdoptionSettings,
    /// Access: /metrics without a token, the Host allowlist.
    pub auth: crate::auth::AuthSettings,
    /// What marks a commit or pull request AI-assisted, the AI report's
    /// cohorts, size buckets and prices.
    pub ai: analytics::ai::AiSettings,
    /// Each source's section (`[github]`, ...), read by the source itself
    /// (`ingest::sources`); see [`Config::sources`].
    #[serde(flatten)]
    pub sources: BTreeMap<String, serde_json::Value>,
}

/// `[metrics]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Days of the rolling window the gauges cover.
    pub window_days: u32,
    /// Seconds between refreshes.
    pub refresh_seconds: u64,
    /// A fixed last day of the window (for demos and tests); default today.
    pub end: Option<NaiveDate>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            window_days: 28,
            refresh_seconds: 60,
            end: None,
        }
    }
}

/// `[compaction]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CompactionConfig {
    /// Seconds between compactions while `serve` runs (each partition's
    /// small files merged, see `devex compact`); 0 turns it off.
    pub interval_seconds: u64,
}

/// `[engine]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// `in-process`, or `ballista` to run the DORA and DevEx reports' SQL on
    /// a DataFusion Ballista cluster.
    pub kind: String,
    /// The Ballista scheduler, `df://HOST:PORT`.
    pub scheduler: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            kind: "in-process".into(),
            scheduler: None,
        }
    }
}

impl Config {
    /// The lake's queries, with metric SQL on the configured engine.
    pub async fn queries(
        &self,
        lake: std::sync::Arc<ingest::lake::Lake>,
    ) -> Result<analytics::LakeQueries> {
        let engine = self.engine.engine()?;
        Ok(analytics::LakeQueries::open(lake).await?.on_engine(engine))
    }
}

impl EngineConfig {
    /// The engine these settings name, or what is wrong with them.
    pub fn engine(&self) -> Result<analytics::engine::Engine> {
        Ok(analytics::engine::Engine::from_settings(
            &self.kind,
            self.scheduler.as_deref(),
        )?)
    }
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            interval_seconds: 3600,
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
#[serde(default, deny_unknown_fields)]
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
            metrics: MetricsConfig::default(),
            compaction: CompactionConfig::default(),
            engine: EngineConfig::default(),
            cost: analytics::cost::CostSettings::default(),
            adoption: analytics::adoption::AdoptionSettings::default(),
            auth: crate::auth::AuthSettings::default(),
            ai: analytics::ai::AiSettings::default(),
            sources: BTreeMap::new(),
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
        let config: Config = figment
            .merge(Env::prefixed("DEVEX_").split("__"))
            .extract()
            .map_err(|e| Error::Config(format!("{e}; see the README's configuration section")))?;
        config.check_unknown_keys()?;
        config.adoption.check().map_err(|e| {
            Error::Config(format!("{e}; see the README's platform adoption section"))
        })?;
        config.ai_attribution()?;
        config
            .ai
            .check()
            .map_err(|e| Error::Config(format!("{e}; see the README's AI assistants section")))?;
        Registry::builtin()
            .check(&config.sources)
            .map_err(|e| Error::Config(format!("{e}; see the README's configuration section")))?;
        Ok(config)
    }
}

impl Config {
    /// The `[ai]` rules compiled; a bad pattern is named with its setting.
    pub fn ai_attribution(&self) -> Result<ingest::ai_attribution::AiAttribution> {
        ingest::ai_attribution::AiAttribution::new(&self.ai.attribution())
            .map_err(|e| Error::Config(format!("{e}; see the README's configuration section")))
    }

    /// A top-level value that is neither a setting nor a source's section
    /// (`lakee = "x"`) is a mistake to name, not to ignore. Unrelated
    /// `DEVEX_*` environment variables (`DEVEX_LOG`) are not settings and
    /// are let be.
    fn check_unknown_keys(&self) -> Result<()> {
        let registry = Registry::builtin();
        let mut known: Vec<String> = match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        };
        known.extend(registry.names().split(", ").map(str::to_string));
        for (key, value) in &self.sources {
            let from_environment =
                std::env::var_os(format!("DEVEX_{}", key.to_uppercase())).is_some();
            if value.is_object() || from_environment {
                continue;
            }
            let closest = analytics::catalog::closest(key, &known);
            let hint = match closest.first() {
                Some(close) if closest.len() < known.len() => format!("did you mean `{close}`?"),
                _ => format!("the settings are {}", known.join(", ")),
            };
            return Err(Error::Config(format!(
                "unknown setting `{key}`; {hint} (see the README's configuration section)"
            )));
        }
        Ok(())
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
            // A source's section is checked by the source: a misspelt key is named.
            jail.create_file("devex.toml", "[github]\nincident_lable = \"sev\"\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("incident_lable"), "{err}");
            jail.create_file("devex.toml", "[gitlub]\ntoken = \"x\"\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("[gitlub]") && err.contains("github"), "{err}");
            jail.create_file("devex.toml", "[github]\nincident_label = \"sev\"\n")?;
            jail.set_env("DEVEX_GITHUB__PER_PAGE", "50");
            let config = Config::load(None).unwrap();
            assert_eq!(config.sources["github"]["incident_label"], "sev");
            // A funnel step that is not tool:feature is named at start.
            jail.create_file(
                "devex.toml",
                "[adoption.funnels]\nfirst-deploy = [\"template:scaffold-service\", \"deploy\"]\n",
            )?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("adoption.funnels.first-deploy: step `deploy`"),
                "{err}"
            );
            // An [ai] pattern that is not a regular expression is named at start.
            jail.create_file(
                "devex.toml",
                "[ai]\nagent_authors = [{ pattern = \"(bot\", tool = \"x\" }]\n",
            )?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("[ai] agent_authors: `(bot` is not a regular expression"),
                "{err}"
            );
            jail.create_file("devex.toml", "[ai]\npr_labels = [\"with-ai\"]\n")?;
            let config = Config::load(None).unwrap();
            assert_eq!(config.ai.pr_labels, ["with-ai"]);
            assert!(!config.ai.coauthor_patterns.is_empty());
            // A misspelt setting is named, with the one meant.
            jail.create_file("devex.toml", "lakee = \"x\"\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("`lakee`") && err.contains("`lake`"), "{err}");
            jail.create_file("devex.toml", "[demo]\nsede = 4\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("sede"), "{err}");
            // Other DEVEX_ variables (DEVEX_LOG, ...) are not settings.
            jail.create_file("devex.toml", "")?;
            jail.set_env("DEVEX_LOG", "debug");
            assert!(Config::load(None).is_ok());
            jail.create_file("devex.toml", "[adoption]\nstep_days = 0\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("adoption.step_days"), "{err}");
            jail.create_file("devex.toml", "")?;
            jail.set_env("DEVEX_ADDR", "not an address");
            assert!(Config::load(None).unwrap_err().to_string().contains("addr"));
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}
