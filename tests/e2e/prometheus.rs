//! A real Prometheus scrapes `devex serve` on the demo lake, and the series
//! it stored carry the values the JSON API gives for the same window.
//! `scripts/test` installs Debian's `prometheus`; this test starts it on
//! loopback with a generated configuration and stops it afterwards.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::Server;
use crate::support::*;

struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(target: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: devex\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is installed (scripts/test installs Debian's prometheus package)");
    Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

impl Prometheus {
    /// Polls an instant query until it returns series (bounded: 60 s).
    async fn query(&self, promql: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let response = reqwest::Client::new()
                .get(format!("{}/api/v1/query", self.base))
                .query(&[("query", promql)])
                .send()
                .await;
            if let Ok(response) = response {
                if let Ok(body) = response.json::<Value>().await {
                    let result = body["data"]["result"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if !result.is_empty() {
                        return result;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no series for {promql} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn value(series: &Value) -> f64 {
    series["value"][1].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn prometheus_scrapes_the_dora_and_devex_gauges() {
    // The demo lake ends on 2026-11-01; the gauges cover the 28 days up to
    // and including 2026-10-31.
    let server = Server::start_with_env(demo_lake(), &[("DEVEX_METRICS__END", "2026-10-31")]);
    let prometheus = start_prometheus(server.base.trim_start_matches("http://"));

    let api = server
        .get_json("/api/v1/dora?from=2026-10-04&to=2026-11-01&group_by=team")
        .await;
    let checkout = api["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == "checkout")
        .unwrap();

    let series = prometheus
        .query(r#"devex_dora_deployments_per_week{team="checkout",service=""}"#)
        .await;
    assert_eq!(series.len(), 1, "{series:?}");
    let scraped = value(&series[0]);
    let expected = checkout["deployments_per_week"].as_f64().unwrap();
    assert!((scraped - expected).abs() < 1e-9, "{scraped} != {expected}");

    let median = prometheus
        .query(r#"devex_dora_lead_time_seconds{team="checkout",service="",percentile="50"}"#)
        .await;
    // Seconds, Prometheus' base unit; the API speaks hours.
    let expected = checkout["lead_time_median_hours"].as_f64().unwrap() * 3600.0;
    assert!((value(&median[0]) - expected).abs() < 1e-6);

    // One series per level (insufficient_data included), 1 on the current one.
    let levels = prometheus
        .query(r#"devex_dora_performance_level{team="checkout",service="",metric="deployment_frequency"}"#)
        .await;
    assert_eq!(levels.len(), 5);
    let current: Vec<&str> = levels
        .iter()
        .filter(|s| value(s) == 1.0)
        .map(|s| s["metric"]["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        current,
        [checkout["levels"]["deployment_frequency"].as_str().unwrap()]
    );

    // Per service and per team, and the DevEx loops; never a person label.
    let services = prometheus
        .query(r#"count(devex_dora_deployments_per_week{service!=""})"#)
        .await;
    assert!(value(&services[0]) >= 30.0);
    let ci = prometheus
        .query(r#"devex_cicd_pipeline_run_duration_seconds{percentile="50"}"#)
        .await;
    assert_eq!(ci.len(), 8);
    // Cost: October so far per team, September per team and service, and
    // the unattributed share, as the cost report gives them.
    let cost = server
        .get_json("/api/v1/cost?from=2026-10-01&to=2026-11-01&group_by=team")
        .await;
    let checkout_cost = cost["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == "checkout")
        .unwrap()["cost"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    let month = prometheus
        .query(r#"devex_cost_month_to_date{team="checkout",currency="USD"}"#)
        .await;
    assert!((value(&month[0]) - checkout_cost).abs() < 1e-6, "{month:?}");
    let share = prometheus.query("devex_cost_unattributed_share").await;
    assert!(
        value(&share[0]) > 0.0 && value(&share[0]) < 0.02,
        "{share:?}"
    );
    // Platform: users of a tool, golden paths and onboarding, as the
    // adoption and onboarding reports give them.
    let adoption = server
        .get_json("/api/v1/adoption?from=2026-10-04&to=2026-11-01&golden_paths=true")
        .await;
    let portal = adoption["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tool"] == "portal")
        .unwrap();
    let users = prometheus
        .query(r#"devex_platform_active_users{tool="portal",feature="all",period="window"}"#)
        .await;
    assert_eq!(value(&users[0]), portal["active_users"].as_f64().unwrap());
    let daily = prometheus
        .query(r#"devex_platform_active_users{tool="portal",feature="all",period="day"}"#)
        .await;
    assert!((value(&daily[0]) - portal["dau_mean"].as_f64().unwrap()).abs() < 1e-9);
    let features = prometheus
        .query(r#"count(devex_platform_active_users{tool="portal",feature!="all",period="week"})"#)
        .await;
    assert_eq!(value(&features[0]), 3.0, "portal has three features");
    let sticky = prometheus
        .query(r#"devex_platform_stickiness{tool="portal"}"#)
        .await;
    assert!((value(&sticky[0]) - portal["stickiness"].as_f64().unwrap()).abs() < 1e-9);
    let pipeline = prometheus
        .query(r#"devex_golden_path_share{team="all",kind="pipeline"}"#)
        .await;
    let expected = adoption["golden_paths"]["overall"]["pipeline_share"]
        .as_f64()
        .unwrap();
    assert!((value(&pipeline[0]) - expected).abs() < 1e-9);
    let onboarding = server
        .get_json("/api/v1/onboarding?from=2025-11-01&to=2026-11-01")
        .await;
    let first_merge = prometheus
        .query(
            r#"devex_onboarding_seconds{team="all",milestone="first_merged_pr",percentile="50"}"#,
        )
        .await;
    let expected = onboarding["overall"]["first_merged_pr_days_median"]
        .as_f64()
        .unwrap()
        * 86_400.0;
    assert!((value(&first_merge[0]) - expected).abs() < 1e-6);
    let refreshed = prometheus
        .query("devex_last_refresh_timestamp_seconds")
        .await;
    assert!(value(&refreshed[0]) > 1.7e9);
    let all = prometheus.query(r#"{__name__=~"devex_.*"}"#).await;
    for series in &all {
        for label in series["metric"].as_object().unwrap().keys() {
            assert!(
                [
                    "__name__",
                    "instance",
                    "job",
                    "team",
                    "service",
                    "environment",
                    "percentile",
                    "metric",
                    "level",
                    "phase",
                    "version",
                    "currency",
                    "tool",
                    "feature",
                    "period",
                    "kind",
                    "milestone",
                    "table"
                ]
                .contains(&label.as_str()),
                "unexpected label {label}"
            );
        }
    }
    check_dashboards(&prometheus, &server.base).await;
    // The exposition follows Prometheus' naming rules: promtool finds
    // nothing to say (base units, no quantile label on gauges, HELP
    // everywhere), on the classic text format curl and promtool get.
    let exposition = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed with Prometheus");
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), exposition.as_bytes()).unwrap();
    let checked = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        checked.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
    drop(prometheus);
    assert!(server.terminate().success());
}

/// Every `$name` or `${name}` (or `${name:format}`) a text refers to.
fn variables_in(text: &str, out: &mut Vec<String>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let rest = &text[i + 1..];
            let name: String = if let Some(inner) = rest.strip_prefix('{') {
                inner
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            } else {
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            };
            if !name.is_empty() {
                out.push(name);
            }
        }
        i += 1;
    }
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Checks each dashboard's structure, then runs every PromQL expression of
/// every panel (and every variable query) against the Prometheus that
/// scraped the demo lake's devex, expecting series.
async fn check_dashboards(prometheus: &Prometheus, devex: &str) {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let board: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert!(board["schemaVersion"].as_u64().unwrap() >= 36, "{name}");
        assert!(!board["uid"].as_str().unwrap().is_empty(), "{name}");
        let defined: Vec<String> = board["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect();
        for required in ["datasource", "team"] {
            assert!(
                defined.contains(&required.to_string()),
                "{name}: no {required} variable"
            );
        }
        let mut ids = std::collections::HashSet::new();
        let mut used = Vec::new();
        for panel in board["panels"].as_array().unwrap() {
            assert!(
                ids.insert(panel["id"].as_u64().unwrap()),
                "{name}: duplicate panel id"
            );
            let grid = &panel["gridPos"];
            let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
            assert!(
                grid["y"].is_u64() && grid["h"].as_u64().unwrap() > 0 && x + w <= 24,
                "{name}: gridPos {grid}"
            );
            if panel["type"] == "row" {
                continue;
            }
            // Datasources by variable only, on the panel and every target.
            let uid = panel["datasource"]["uid"].as_str().unwrap();
            assert!(
                uid.starts_with("${"),
                "{name}: panel {} datasource {uid}",
                panel["title"]
            );
            let mut texts = Vec::new();
            strings(panel, &mut texts);
            for text in &texts {
                variables_in(text, &mut used);
            }
            for target in panel["targets"].as_array().unwrap() {
                assert!(
                    target["datasource"]["uid"]
                        .as_str()
                        .unwrap()
                        .starts_with("${"),
                    "{name}"
                );
                if target["datasource"]["type"] == "yesoreyeram-infinity-datasource" {
                    check_infinity_target(&name, target, devex).await;
                    continue;
                }
                let Some(expr) = target["expr"].as_str() else {
                    continue;
                };
                let expr = expr
                    .replace("$team", "checkout")
                    .replace("$service", "checkout-api")
                    .replace("$tool", "portal");
                let series = prometheus.query(&expr).await;
                assert!(!series.is_empty(), "{name}: {expr}");
            }
        }
        for variable in board["templating"]["list"].as_array().unwrap() {
            let mut texts = Vec::new();
            strings(&variable["query"], &mut texts);
            for text in &texts {
                variables_in(text, &mut used);
                if let Some(inner) = text.strip_prefix("label_values(") {
                    let selector = inner.rsplit_once(',').unwrap().0;
                    let selector = selector.replace("$team", "checkout");
                    let series = prometheus.query(&selector).await;
                    assert!(!series.is_empty(), "{name}: {text}");
                    // The organisation (team="all") is no team to pick: the
                    // drill-downs would ask the API for a team called "all".
                    if variable["name"] == "team" {
                        assert!(
                            series.iter().all(|s| s["metric"]["team"] != "all"),
                            "{name}: {text} offers team=all"
                        );
                    }
                }
            }
        }
        for reference in &used {
            assert!(
                reference.starts_with("__") || defined.contains(reference),
                "{name}: ${reference} is used but not defined"
            );
        }
        for variable in &defined {
            assert!(
                used.contains(variable),
                "{name}: variable {variable} is never used"
            );
        }
    }
}

/// An Infinity (API) target: its URL, with the dashboard's variables as
/// Grafana fills them, answers from devex, and every column it selects is
/// in the answer (JSON under `root_selector`, or the CSV header).
async fn check_infinity_target(name: &str, target: &Value, devex: &str) {
    let fill = |value: &str| {
        value
            .replace("$team", "checkout")
            .replace("${__from:date:YYYY-MM-DD}", "2025-11-01")
            .replace("${__to:date:YYYY-MM-DD}", "2026-11-01")
    };
    let params: Vec<(String, String)> = target["url_options"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                fill(p["value"].as_str().unwrap()),
            )
        })
        .collect();
    let url = format!("{devex}{}", target["url"].as_str().unwrap());
    let response = reqwest::Client::new()
        .get(&url)
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{name}: {url} {params:?}");
    let body = response.text().await.unwrap();
    let selectors: Vec<&str> = target["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["selector"].as_str().unwrap())
        .collect();
    if target["type"] == "csv" {
        let header: Vec<&str> = body.lines().next().unwrap().split(',').collect();
        for selector in selectors {
            assert!(
                header.contains(&selector),
                "{name}: {selector} not in {header:?}"
            );
        }
        assert!(body.lines().count() > 40, "{name}: a year of weeks");
        return;
    }
    let json: Value = serde_json::from_str(&body).unwrap();
    let rows = json[target["root_selector"].as_str().unwrap()]
        .as_array()
        .unwrap();
    assert!(!rows.is_empty(), "{name}: {url}");
    for selector in selectors {
        assert!(
            rows[0].get(selector).is_some(),
            "{name}: {selector} not in {}",
            rows[0]
        );
    }
    // A year of history from the first day: the point of these panels.
    if target["url"] == "/api/v1/dora/series" {
        assert!(rows.len() >= 50, "{name}: {} weeks", rows.len());
    }
}
