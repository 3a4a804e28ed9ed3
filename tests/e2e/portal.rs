//! The portal in a real browser: headless Chromium (Debian's `chromium`)
//! loads the overview on the demo lake, clicks through to a team and to a
//! deployment, then the cost, adoption and onboarding pages, checks that the charts render with data and that nothing is
//! logged as an error, and saves screenshots under the test output folder.
//! It drives Chromium through the DevTools protocol on loopback.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::serve::Server;
use crate::support::*;

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One page driven over the DevTools protocol, with the errors it logged.
struct Page {
    socket: Socket,
    next_id: u64,
    errors: Vec<String>,
}

impl Page {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::Text(request.to_string()))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} within 60 s"))
                .unwrap()
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            self.record(&value);
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
        }
    }

    fn record(&mut self, event: &Value) {
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.errors.push(event["params"].to_string()),
            Some("Runtime.consoleAPICalled") if event["params"]["type"] == "error" => {
                self.errors.push(event["params"].to_string())
            }
            Some("Log.entryAdded") if event["params"]["entry"]["level"] == "error" => {
                self.errors.push(event["params"]["entry"].to_string())
            }
            _ => {}
        }
    }

    /// Waits for the page's load event (after a navigation or a click).
    async fn wait_for_load(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), self.socket.next())
                .await
                .expect("the page loads within 60 s")
                .unwrap()
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            self.record(&value);
            if value["method"] == "Page.loadEventFired" {
                return;
            }
        }
    }

    async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    async fn screenshot(&mut self, name: &str) -> std::path::PathBuf {
        let result = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().unwrap())
            .unwrap();
        let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

async fn open_browser() -> (Browser, Page) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium is installed (scripts/test installs Debian's chromium package)");
    // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
    let stderr = child.stderr.take().unwrap();
    let port = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                return rest.split('/').next().unwrap().to_string();
            }
        }
        panic!("chromium did not start its DevTools endpoint");
    })
    .await
    .unwrap();
    let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page_url = targets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "page")
        .unwrap()["webSocketDebuggerUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let (socket, _) = tokio_tungstenite::connect_async(page_url).await.unwrap();
    let mut page = Page {
        socket,
        next_id: 0,
        errors: Vec::new(),
    };
    for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
        page.call(domain, json!({})).await;
    }
    (
        Browser {
            child,
            _profile: profile,
        },
        page,
    )
}

#[tokio::test]
async fn the_portal_renders_and_clicks_through_in_chromium() {
    let server = Server::start_with_env(
        demo_lake(),
        &[
            ("DEVEX_METRICS__END", "2026-10-31"),
            ("DEVEX_COST__BUDGETS__CHECKOUT", "12000"),
            // High enough that some of the demo's teams go unshown.
            ("DEVEX_SURVEYS__ANONYMITY_THRESHOLD", "31"),
        ],
    );
    let (_browser, mut page) = open_browser().await;

    page.call("Page.navigate", json!({"url": format!("{}/", server.base)}))
        .await;
    page.wait_for_load().await;
    let teams = page
        .evaluate("document.querySelectorAll('#levels tbody tr').length")
        .await;
    assert_eq!(teams, 8 + 1, "the organisation and eight teams");
    let organisation = page
        .evaluate("document.querySelector('#levels tr.org').textContent")
        .await;
    assert!(
        organisation.as_str().unwrap().starts_with("Organisation"),
        "{organisation}"
    );
    let levels = page
        .evaluate(
            "[...document.querySelectorAll('#levels .level')].map(e => e.textContent).join(' ')",
        )
        .await;
    for level in ["elite", "high", "medium", "low"] {
        assert!(levels.as_str().unwrap().contains(level), "{levels}");
    }
    // Every headline number beside the previous equal period's, with its
    // samples; colour only on a significant change.
    let trends = page
        .evaluate("document.querySelectorAll('#levels tr.org .trend').length")
        .await;
    assert_eq!(trends, 3, "deployments, lead time and failure rate");
    let org = page
        .evaluate("document.querySelector('#levels tr.org .trend').title")
        .await;
    assert!(
        org.as_str().unwrap().starts_with("previous period: ")
            && org.as_str().unwrap().contains("p = "),
        "{org}"
    );
    let coloured = page
        .evaluate("[...document.querySelectorAll('#levels .trend.better, #levels .trend.worse')].every(e => e.title.includes('a real change'))")
        .await;
    assert_eq!(coloured, true);
    let overview = page.screenshot("overview.png").await;
    // The range picker: links and a form, carried in the URL.
    page.evaluate(
        "[...document.querySelectorAll('#range a')].find(a => a.textContent == '30 days').click()",
    )
    .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.search").await, "?days=30");
    let chosen = page
        .evaluate("document.querySelector('#range strong').textContent")
        .await;
    assert_eq!(chosen, "30 days");
    let said = page
        .evaluate("document.querySelector('#levels').previousElementSibling.textContent")
        .await;
    assert!(said.as_str().unwrap().contains("30 days"), "{said}");
    page.evaluate("document.querySelector('#range input[name=from]').value = '2026-09-01'; document.querySelector('#range input[name=to]').value = '2026-10-01'; document.querySelector('#range input[name=tz]').value = 'Europe/Berlin'; document.querySelector('#range').submit()")
        .await;
    page.wait_for_load().await;
    assert_eq!(
        page.evaluate("location.search").await,
        "?from=2026-09-01&to=2026-10-01&tz=Europe%2FBerlin"
    );
    let said = page
        .evaluate("document.querySelector('#levels').previousElementSibling.textContent")
        .await;
    assert!(
        said.as_str()
            .unwrap()
            .contains("2026-09-01 to 2026-10-01 (exclusive, Europe/Berlin), 30 days"),
        "{said}"
    );
    page.call("Page.navigate", json!({"url": format!("{}/", server.base)}))
        .await;
    page.wait_for_load().await;

    // Click through to a team.
    page.evaluate("document.querySelector('#levels a[href=\"/teams/checkout\"]').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.pathname").await, "/teams/checkout");
    let charts = page
        .evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.querySelectorAll('circle').length)")
        .await;
    let charts = charts.as_array().unwrap();
    assert_eq!(charts.len(), 6, "{charts:?}");
    for points in charts {
        assert!(
            points.as_u64().unwrap() >= 10,
            "a chart without data: {charts:?}"
        );
    }
    // The window ends on a Saturday: the last week is partial, drawn hollow,
    // and each chart has 3 to 5 labelled ticks.
    let partial = page
        .evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.querySelectorAll('circle.partial').length)")
        .await;
    assert!(
        partial.as_array().unwrap().iter().all(|n| n == 1),
        "{partial}"
    );
    let ticks = page
        .evaluate("[...document.querySelectorAll('svg.chart')].map(s => Number(s.dataset.ticks))")
        .await;
    assert!(
        ticks
            .as_array()
            .unwrap()
            .iter()
            .all(|n| (3..=5).contains(&n.as_u64().unwrap())),
        "{ticks}"
    );
    let rows = page
        .evaluate("document.querySelectorAll('#deployments tbody tr').length")
        .await;
    assert_eq!(rows, 25, "a page of deployments");
    let pager = page
        .evaluate("document.querySelector('#pager').textContent")
        .await;
    assert!(pager.as_str().unwrap().starts_with("1–25 of "), "{pager}");
    let cost_line = page
        .evaluate("document.querySelector('#team-cost').textContent")
        .await;
    assert!(
        cost_line
            .as_str()
            .unwrap()
            .contains("per production deployment"),
        "{cost_line}"
    );
    let team = page.screenshot("team-checkout.png").await;

    // And on to a deployment.
    page.evaluate("document.querySelector('#deployments tbody a').click()")
        .await;
    page.wait_for_load().await;
    let path = page.evaluate("location.pathname").await;
    assert!(
        path.as_str().unwrap().starts_with("/deployments/checkout-"),
        "{path}"
    );
    let heading = page
        .evaluate("document.querySelector('h1').textContent")
        .await;
    assert!(
        heading.as_str().unwrap().starts_with("Deployment "),
        "{heading}"
    );
    // Found in the range it was linked from, its time in that range's zone.
    let search = page.evaluate("location.search").await;
    assert!(
        search
            .as_str()
            .unwrap()
            .starts_with("?from=2026-08-03&to=2026-11-01&tz=UTC"),
        "{search}"
    );
    let deployed = page
        .evaluate("[...document.querySelectorAll('#deployment tr')].find(r => r.textContent.startsWith('deployed')).textContent")
        .await;
    assert!(deployed.as_str().unwrap().ends_with(" UTC"), "{deployed}");
    let deployment = page.screenshot("deployment.png").await;

    // The cost page: seven months stacked by team, the table, the untagged.
    page.call(
        "Page.navigate",
        json!({"url": format!("{}/cost", server.base)}),
    )
    .await;
    page.wait_for_load().await;
    let bars = page
        .evaluate("document.querySelectorAll('#cost-bars rect').length")
        .await;
    assert!(bars.as_u64().unwrap() >= 7 * 8, "{bars}");
    let rows = page
        .evaluate("document.querySelectorAll('#cost tbody tr').length")
        .await;
    assert_eq!(rows, 8 + 2, "eight teams, unattributed and total");
    let untagged = page
        .evaluate("document.querySelector('#untagged tbody').textContent")
        .await;
    assert!(
        untagged.as_str().unwrap().contains("natgateway"),
        "{untagged}"
    );
    let budget = page
        .evaluate("document.querySelector('#budgets tbody').textContent")
        .await;
    assert!(budget.as_str().unwrap().contains("12000.00"), "{budget}");
    assert!(budget.as_str().unwrap().contains("31 of 31"), "{budget}");
    let cost = page.screenshot("cost.png").await;

    // Adoption, from the navigation: a line per tool, the funnel narrowing,
    // the cohort heatmap, golden paths and adoption per team.
    page.evaluate("document.querySelector('nav a[href=\"/adoption\"]').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.pathname").await, "/adoption");
    let tools = page
        .evaluate("[...document.querySelectorAll('#weekly-users polyline.tool')].map(l => l.dataset.tool)")
        .await;
    assert_eq!(tools, json!(["api", "cli", "portal", "template"]));
    let steps = page
        .evaluate(
            "[...document.querySelectorAll('#funnel-0 rect')].map(r => r.width.baseVal.value)",
        )
        .await;
    let widths: Vec<f64> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    assert_eq!(widths.len(), 3, "{widths:?}");
    assert!(
        widths[0] > widths[1] && widths[1] > widths[2] && widths[2] > 0.0,
        "{widths:?}"
    );
    let cells = page
        .evaluate("document.querySelectorAll('#cohorts rect.cell').length")
        .await;
    assert!(cells.as_u64().unwrap() >= 12, "{cells}");
    let golden = page
        .evaluate("document.querySelectorAll('#golden-paths tbody tr').length")
        .await;
    assert_eq!(golden, 8 + 1, "eight teams and overall");
    let adopting = page
        .evaluate("document.querySelectorAll('#team-adoption tbody tr').length")
        .await;
    assert_eq!(adopting, 8);
    let adoption = page.screenshot("adoption.png").await;

    // And onboarding, from the adoption page's link: a bar per start month.
    page.evaluate("document.querySelector('#to-onboarding').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.pathname").await, "/onboarding");
    let bars = page
        .evaluate("document.querySelectorAll('#first-merge rect').length")
        .await;
    assert!(bars.as_u64().unwrap() >= 10, "{bars}");
    let cohorts = page
        .evaluate("document.querySelectorAll('#onboarding-cohorts tbody tr').length")
        .await;
    assert!(cohorts.as_u64().unwrap() >= 11, "{cohorts}");
    let overall = page
        .evaluate("document.querySelector('#onboarding-cohorts tbody tr:last-child').textContent")
        .await;
    assert!(overall.as_str().unwrap().contains("66"), "{overall}");
    let onboarding = page.screenshot("onboarding.png").await;

    // AI assistants, from the navigation: a line per team over the months,
    // a dot on each rolled-out team's rollout month, the impact table with
    // intervals and the rollout effects.
    page.evaluate("document.querySelector('nav a[href=\"/ai\"]').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.pathname").await, "/ai");
    let lines = page
        .evaluate("document.querySelectorAll('#ai-rollout polyline.team').length")
        .await;
    assert_eq!(lines, 8, "a line per team");
    let rollouts = page
        .evaluate("[...document.querySelectorAll('#ai-rollout circle.rollout')].map(c => c.dataset.team).sort()")
        .await;
    assert_eq!(
        rollouts,
        json!(["checkout", "growth", "identity", "mobile", "payments", "platform"]),
        "the demo's two thirds of teams roll out"
    );
    let impact = page
        .evaluate("document.querySelector('#ai-impact tbody').textContent")
        .await;
    let impact = impact.as_str().unwrap();
    assert!(
        impact.contains("cycle_time_hours")
            && impact.contains("rework_rate")
            && impact.contains("["),
        "{impact}"
    );
    let teams = page
        .evaluate("document.querySelectorAll('#ai-teams tbody tr').length")
        .await;
    assert_eq!(teams, 8);
    let ai = page.screenshot("ai.png").await;

    assert!(
        page.errors.is_empty(),
        "errors in the browser: {:?}",
        page.errors
    );
    for shot in [overview, team, deployment, cost, adoption, onboarding, ai] {
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 10_000,
            "{}",
            shot.display()
        );
        println!("screenshot: {}", shot.display());
    }
    // Survey pages: the waves, then the latest with its shown groups only,
    // eNPS and its split, the comparison with the wave before, and
    // perceived against measured.
    page.call(
        "Page.navigate",
        json!({"url": format!("{}/surveys", server.base)}),
    )
    .await;
    page.wait_for_load().await;
    let waves = page
        .evaluate("[...document.querySelectorAll('#waves tbody a')].map(a => a.textContent)")
        .await;
    assert_eq!(waves, json!(["devex-2026-q3", "devex-2026-q2"]));
    page.evaluate("document.querySelector('#waves tbody a').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(
        page.evaluate("location.pathname").await,
        "/surveys/devex-2026-q3"
    );
    page.screenshot("survey.png").await;
    // Into a group whose small teams must stay hidden.
    page.evaluate("document.querySelector('section.group[data-group=product] h2 a').click()")
        .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.search").await, "?team=product");
    let shown = page
        .evaluate("[...document.querySelectorAll('section.group')].map(s => [s.dataset.group, Number(s.querySelector('.rate').textContent.split(' ')[0])])")
        .await;
    let shown = shown.as_array().unwrap();
    assert!(shown.len() >= 2, "{shown:?}");
    assert_eq!(shown[0][0], "product");
    for group in shown {
        assert!(
            group[1].as_u64().unwrap() >= 31,
            "a group below the threshold is shown: {group}"
        );
    }
    let hidden = page
        .evaluate("document.querySelector('#hidden') ? document.querySelector('#hidden').textContent : ''")
        .await;
    let hidden = hidden.as_str().unwrap();
    assert!(
        hidden.contains("Not shown:"),
        "the demo has small teams: {hidden} {shown:?}"
    );
    let hidden_names: Vec<&str> = hidden
        .trim_start_matches("Not shown: ")
        .split(" (")
        .next()
        .unwrap()
        .split(", ")
        .collect();
    for group in shown {
        let name = group[0].as_str().unwrap();
        assert!(
            !hidden_names.contains(&name),
            "{name} both shown and hidden"
        );
    }
    let enps = page
        .evaluate("document.querySelector('section.group .enps').textContent")
        .await;
    assert!(
        enps.as_str().unwrap().contains("promoters")
            && enps.as_str().unwrap().contains("detractors"),
        "{enps}"
    );
    let compared = page
        .evaluate("document.querySelectorAll('#comparison tbody tr').length")
        .await;
    assert!(compared.as_u64().unwrap() >= 5, "{compared}");
    let perceived = page
        .evaluate("document.querySelectorAll('#perceived-measured tbody tr').length")
        .await;
    assert!(perceived.as_u64().unwrap() >= 1, "{perceived}");

    // Every metric label leads to its definition, from the SQL header.
    page.call("Page.navigate", json!({"url": format!("{}/", server.base)}))
        .await;
    page.wait_for_load().await;
    page.evaluate(
        "document.querySelector('#levels th a[href=\"/definitions#change_lead_times\"]').click()",
    )
    .await;
    page.wait_for_load().await;
    assert_eq!(page.evaluate("location.pathname").await, "/definitions");
    assert_eq!(page.evaluate("location.hash").await, "#change_lead_times");
    let definition = page
        .evaluate("document.querySelector('#change_lead_times').textContent")
        .await;
    assert!(
        definition
            .as_str()
            .unwrap()
            .contains("every change of a counted deployment")
            && definition
                .as_str()
                .unwrap()
                .contains("squash and rebase merges"),
        "{definition}"
    );
    let sections = page
        .evaluate("document.querySelectorAll('section.definition').length")
        .await;
    assert!(sections.as_u64().unwrap() >= 30, "{sections}");
    assert!(server.terminate().success());
}

/// An empty lake's overview says how to get data in, not an empty table.
#[tokio::test]
async fn an_empty_lake_says_how_to_get_data_in() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start(lake.path(), false);
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="empty-lake""#), "{page}");
    for command in [
        "devex import",
        "devex ingest github",
        "/webhooks/github",
        "--demo",
    ] {
        assert!(page.contains(command), "{command}: {page}");
    }
    assert!(server.terminate().success());
}
