//! Who may call what: tokens made by `devex token`, every route against
//! every kind of caller (none, a wrong, revoked or expired token, and each
//! role), the Host allowlist, and the safe defaults of `devex serve`.

use reqwest::header::{AUTHORIZATION, HOST};
use serde_json::json;

use crate::serve::Server;
use crate::support::*;

/// The requests checked: method, path, the role they need (`None`: open to
/// all, as the webhooks check their own signatures).
fn routes(deployment: &str) -> Vec<(&'static str, String, Option<&'static str>)> {
    let get = |path: &str| ("GET", path.to_string(), Some("viewer"));
    vec![
        ("GET", "/healthz".into(), None),
        ("POST", "/webhooks/cdevents".into(), None),
        // The sign-in pages (single sign-on itself: login.rs).
        ("GET", "/auth/signed-out".into(), None),
        get("/"),
        get("/teams/checkout"),
        get(deployment),
        get("/cost"),
        get("/adoption"),
        get("/onboarding"),
        get("/ai"),
        get("/definitions"),
        get("/metrics"),
        get("/api/v1/openapi.json"),
        get("/api/v1/tables"),
        get("/api/v1/catalog"),
        get("/api/v1/dora?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/dora/series?from=2026-08-01&to=2026-11-01&granularity=week"),
        get("/api/v1/dora/deployments?from=2026-10-01&to=2026-11-01"),
        get("/api/v1/devex?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/space?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/compare?metric=lead_time&a_from=2026-08-01&a_to=2026-09-01&b_from=2026-09-01&b_to=2026-10-01"),
        get("/api/v1/cost?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/cost/lines?from=2026-10-01&to=2026-11-01"),
        get("/api/v1/adoption?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/onboarding?from=2026-01-01&to=2026-11-01"),
        get("/api/v1/ai?from=2026-08-01&to=2026-11-01"),
        get("/api/v1/surveys"),
        get("/api/v1/surveys/devex-2026-q3/results"),
        get("/api/v1/surveys/compare?a=devex-2026-q2&b=devex-2026-q3"),
        get("/api/v1/surveys/devex-2026-q3/perceived-vs-measured"),
        get("/api/v1/entities/component/default/checkout-api/scorecard"),
        ("POST", "/api/v1/events/usage".into(), Some("ingest")),
        ("GET", "/api/v1/audit".into(), Some("admin")),
        ("POST", "/api/v1/query".into(), Some("admin")),
    ]
}

async fn call(server: &Server, method: &str, path: &str, token: Option<&str>) -> u16 {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.base);
    let mut request = match method {
        "POST" => client.post(url).header("content-type", "application/json").body(
            if path.contains("events") {
                json!([{"user": "u@example.com", "tool": "cli", "feature": "deploy", "at": "2026-10-02T09:00:00Z"}]).to_string()
            } else if path.ends_with("/query") {
                json!({"sql": "SELECT count(*) AS n FROM deployments"}).to_string()
            } else {
                "{}".to_string()
            },
        ),
        _ => client.get(url),
    };
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    request.send().await.unwrap().status().as_u16()
}

fn create_token(lake: &str, name: &str, role: &str, expires: &str) -> String {
    let output = run(&[
        "token",
        "create",
        "--lake",
        lake,
        "--name",
        name,
        "--role",
        role,
        "--expires",
        expires,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let token = stdout(&output);
    // Only the token on stdout; what it is goes to stderr.
    assert_eq!(token.lines().count(), 1, "{token}");
    assert!(stderr(&output).contains(name));
    token.trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_the_callers_role() {
    let lake = small_demo_lake("12");
    let lake_arg = lake.path().to_str().unwrap();

    // Without tokens (loopback): what each request answers when allowed.
    let open = Server::start(lake.path(), false);
    let listed = open
        .get_json("/api/v1/dora/deployments?from=2026-10-01&to=2026-11-01")
        .await;
    let first = &listed["deployments"][0];
    let deployment = format!(
        "/deployments/{}/{}",
        first["service"].as_str().unwrap(),
        first["deployment_id"].as_str().unwrap()
    );
    let routes = || routes(&deployment);
    let mut baseline = Vec::new();
    for (method, path, _) in routes() {
        let status = call(&open, method, &path, None).await;
        baseline.push(status);
    }
    // Without auth, a bearer header proves nothing: a DNS-rebinding page
    // can send one, so its foreign Host is still refused.
    let rebound = reqwest::Client::new()
        .get(format!("{}/api/v1/tables", open.base))
        .header(HOST, "evil.example")
        .header(AUTHORIZATION, "Bearer anything")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    assert!(open.terminate().success());
    for ((_, path, role), status) in routes().iter().zip(&baseline) {
        match role {
            // The webhook refuses for want of its own token.
            None if path.starts_with("/webhooks") => assert_eq!(*status, 401, "{path}"),
            _ => assert_eq!(*status, 200, "{path}"),
        }
    }

    let viewer = create_token(lake_arg, "grafana", "viewer", "90d");
    let ingest = create_token(lake_arg, "ci", "ingest", "90d");
    let admin = create_token(lake_arg, "ops", "admin", "never");
    let revoked = create_token(lake_arg, "old", "admin", "90d");
    let expired = create_token(lake_arg, "stale", "admin", "1h");
    let revoke = run(&["token", "revoke", "--lake", lake_arg, "old"]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    // Age the `stale` token by editing its kept expiry.
    let file = lake.path().join("_devex/tokens.json");
    let mut kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for record in kept.as_array_mut().unwrap() {
        if record["name"] == "stale" {
            record["expires_at"] = json!("2020-01-01T00:00:00Z");
        }
    }
    std::fs::write(&file, serde_json::to_vec(&kept).unwrap()).unwrap();
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains(&admin[4..]));
    let list = run_json(&["token", "list", "--lake", lake_arg]);
    let states: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().into(),
                t["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        states.contains(&("old".into(), "revoked".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("stale".into(), "expired".into())),
        "{states:?}"
    );

    let server = Server::start(lake.path(), false);
    let callers: [(&str, Option<&str>, Option<&str>); 7] = [
        ("no token", None, None),
        ("unknown token", Some("dvx_not-a-token"), None),
        ("revoked", Some(&revoked), None),
        ("expired", Some(&expired), None),
        ("viewer", Some(&viewer), Some("viewer")),
        ("ingest", Some(&ingest), Some("ingest")),
        ("admin", Some(&admin), Some("admin")),
    ];
    let mut table = Vec::new();
    for ((method, path, needed), allowed_status) in routes().into_iter().zip(&baseline) {
        for (caller, token, role) in &callers {
            let expected = match (needed, role) {
                (None, _) => *allowed_status,
                (Some(_), None) => 401,
                (Some(_), Some("admin")) => *allowed_status,
                (Some(needed), Some(role)) if needed == *role => *allowed_status,
                (Some(_), Some(_)) => 403,
            };
            let status = call(&server, method, &path, *token).await;
            table.push(format!(
                "{method} {path} as {caller}: {status} (expected {expected})"
            ));
            assert_eq!(status, expected, "{}", table.join("\n"));
        }
    }
    assert_eq!(table.len(), routes().len() * callers.len());

    // A refusal says what to do, and how to authenticate.
    let response = reqwest::get(format!("{}/api/v1/dora", server.base))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"devex\""
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("devex token create"));

    // Raw SQL for admins: tables about people are out of reach, answers
    // are bounded, and each query is audited.
    let sql = |text: &str| {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/query", server.base);
        let body = json!({"sql": text}).to_string();
        let admin = admin.clone();
        async move {
            let answer = client
                .post(url)
                .header(AUTHORIZATION, format!("Bearer {admin}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, body) =
        sql("SELECT service, count(*) AS n FROM deployments GROUP BY service").await;
    assert_eq!(status, 200, "{body}");
    for person_level in [
        "SELECT author FROM commits",
        "SELECT * FROM team_members",
        "SELECT * FROM survey_responses",
        "SELECT \"user\" FROM platform_usage",
    ] {
        let (status, body) = sql(person_level).await;
        assert_eq!(status, 400, "{person_level}: {body}");
        assert!(body.contains("through the reports"), "{body}");
    }
    let (status, body) = sql("SELECT * FROM ci_runs").await;
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);
    assert!(body.contains("more than 10000 rows"), "{body}");
    let (status, _) = sql("DELETE FROM deployments").await;
    assert_eq!(status, 400);

    // A DNS-rebinding page's Host is refused where a browser reads without
    // credentials; probes (/healthz) and callers with a token call by
    // address, so they pass.
    let client = reqwest::Client::new();
    let with_host = |path: &str, host: &str, token: Option<&str>| {
        let mut request = client
            .get(format!("{}{path}", server.base))
            .header(HOST, host.to_string());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send()
    };
    let rebound = with_host("/api/v1/tables", "evil.example", None)
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    assert!(rebound.text().await.unwrap().contains("allowed_hosts"));
    let probe = with_host("/healthz", "10.1.2.3:8080", None).await.unwrap();
    assert_eq!(probe.status().as_u16(), 200);
    let scraper = with_host("/api/v1/tables", "10.1.2.3:8080", Some(&viewer))
        .await
        .unwrap();
    assert_eq!(scraper.status().as_u16(), 200);
    let port = server.base.rsplit(':').next().unwrap();
    let local = with_host(
        "/api/v1/tables",
        &format!("localhost:{port}"),
        Some(&viewer),
    )
    .await
    .unwrap();
    assert_eq!(local.status().as_u16(), 200);

    // Revoking applies to the running server at once.
    let revoke = run(&["token", "revoke", "--lake", lake_arg, "grafana"]);
    assert!(revoke.status.success());
    assert_eq!(
        call(&server, "GET", "/api/v1/tables", Some(&viewer)).await,
        401
    );
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_bind_needs_auth_or_says_it_has_none() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    // No token, an address beyond loopback: refused, saying what to do.
    let refused = run(&["serve", "--lake", lake_arg, "--addr", "0.0.0.0:0"]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("without auth") && message.contains("devex token create"),
        "{message}"
    );
    // Overridden explicitly: it serves, and the portal warns.
    let server = Server::start_on(lake.path(), "0.0.0.0:0", &["--insecure-no-auth"], &[]);
    let (status, page) = server.get("/cost").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="insecure""#), "{page}");
    // Bodies are capped at 25 MiB (GitHub's largest delivery); 24 MiB pass
    // the cap and reach the receiver, which wants its token.
    let client = reqwest::Client::new();
    let post = |size: usize| {
        client
            .post(format!("{}/webhooks/cdevents", server.base))
            .body(vec![b' '; size])
            .send()
    };
    assert_eq!(post(26 * 1024 * 1024).await.unwrap().status().as_u16(), 413);
    assert_eq!(post(24 * 1024 * 1024).await.unwrap().status().as_u16(), 401);
    assert!(server.terminate().success());
    // With a token, an open bind needs no override.
    create_token(lake_arg, "ops", "admin", "90d");
    let server = Server::start_on(lake.path(), "0.0.0.0:0", &[], &[]);
    let (status, page) = server.get("/cost").await;
    assert_eq!(status, 401, "{page}");
    assert!(server.terminate().success());
}

/// The request a new user's trial sent (133 s, a 15.5 GB answer, 21.5 GB
/// resident before the caps): now a fast 400 that says what to do, with
/// the server's memory flat; the widest window allowed still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enormous_request_is_refused_at_once() {
    let server = Server::start(demo_lake(), false);
    let (status, _) = server
        .get("/api/v1/dora?from=2026-08-01&to=2026-11-01&group_by=service")
        .await;
    assert_eq!(status, 200);
    let before = server.resident_kib();
    let started = std::time::Instant::now();
    let (status, body) = server
        .get("/api/v1/dora/series?from=0001-01-01&to=9999-12-31&granularity=week&group_by=service")
        .await;
    let took = started.elapsed();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("at most 3653") && body.contains("narrow"),
        "{body}"
    );
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    let after = server.resident_kib();
    assert!(after < before + 64 * 1024, "{before} KiB -> {after} KiB");
    // Ten years by week and service is within the caps.
    let (status, body) = server
        .get("/api/v1/dora/series?from=2016-11-01&to=2026-11-01&granularity=week&group_by=service")
        .await;
    assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);
    assert!(body.len() < 64 * 1024 * 1024, "{} bytes", body.len());
    assert!(server.terminate().success());
}

/// A loopback flood: past the burst, requests get 429 with Retry-After;
/// another token keeps its own allowance; webhooks are never limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_AUTH__REQUESTS_PER_SECOND", "5"),
            ("DEVEX_AUTH__BURST", "20"),
        ],
    );
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let flood = (0..200).map(|_| {
        let client = client.clone();
        let url = format!("{}/api/v1/tables", server.base);
        async move { client.get(url).send().await.unwrap() }
    });
    let answers = futures::future::join_all(flood).await;
    let took = started.elapsed().as_secs_f64();
    let ok = answers.iter().filter(|a| a.status() == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.status() == 429).collect();
    println!(
        "flood: 200 requests in {took:.2} s: {ok} answered, {} limited",
        limited.len()
    );
    assert_eq!(ok + limited.len(), 200);
    // The burst, plus what refilled at 5 a second while the flood ran.
    assert!(
        ok >= 20 && ok as f64 <= 20.0 + 5.0 * took + 2.0,
        "{ok} in {took} s"
    );
    let retry: u64 = limited[0].headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    // Webhooks are not limited: their own token check answers each one.
    for _ in 0..30 {
        let answer = client
            .post(format!("{}/webhooks/cdevents", server.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
    }
    // After the wait, the address may ask again.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    let (status, _) = server.get("/api/v1/tables").await;
    assert_eq!(status, 200);
    assert!(server.terminate().success());
}

/// A slow-loris client, trickling its headers a byte at a time, is cut off
/// once the header timeout passes; other clients are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let lake = tempfile::tempdir().unwrap();
    let server =
        Server::start_with_env(lake.path(), &[("DEVEX_AUTH__HEADER_TIMEOUT_SECONDS", "2")]);
    let address = server.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let started = std::time::Instant::now();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nX-Slow: ");
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut closed_after = None;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if slow.write_all(b"a").await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        // A closed connection reads as end of file (after any 408 answer).
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(std::time::Duration::from_millis(10), slow.read(&mut buffer))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
        // Everyone else is served in the meantime.
        if started.elapsed() < std::time::Duration::from_secs(1) {
            let (status, _) = server.get("/healthz").await;
            assert_eq!(status, 200);
        }
    }
    let closed_after = closed_after.expect("the trickling client was never cut off");
    assert!(
        closed_after >= std::time::Duration::from_secs(2)
            && closed_after < std::time::Duration::from_secs(6),
        "{closed_after:?}"
    );
    assert!(server.terminate().success());
}
