//! Portal single sign-on against a local fake identity provider: discovery,
//! the authorization code flow with PKCE, the ID token checked against the
//! JWKS, roles from the group claim, the session cookie, sign-out, and the
//! audit log of it all.

use reqwest::header::{ACCEPT, AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::fake_idp::{FakeIdp, User, CLIENT_ID, CLIENT_SECRET};
use crate::serve::Server;
use crate::support::free_port;

/// A browser: no automatic redirects, so each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// Signs in through the fake provider from `start` (a devex address);
/// returns the session cookie (`name=value`) and where devex sent the
/// browser at the end, or the refusal's status and page.
async fn sign_in(server: &Server, start: &str) -> Result<(String, String), (u16, String)> {
    let client = browser();
    // devex sends the browser to the provider...
    let to_provider = client
        .get(format!("{}{start}", server.base))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(to_provider.status(), 303, "{start}");
    let authorize = url::Url::parse(&location(&to_provider)).unwrap();
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert!(
        query["scope"].split(' ').any(|s| s == "groups"),
        "{query:?}"
    );
    // ...which signs the user in and sends it back with a code...
    let back = client.get(authorize).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let callback = location(&back);
    assert!(callback.starts_with(&server.base), "{callback}");
    // ...and devex exchanges it for a session.
    let done = client.get(&callback).send().await.unwrap();
    let status = done.status().as_u16();
    if status != 303 {
        return Err((status, done.text().await.unwrap()));
    }
    let cookie = done.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // The test server is plain HTTP, so the cookie is not `Secure` (unit
    // tests cover `Secure` and `__Host-` behind TLS).
    assert!(!cookie.contains("Secure"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    // The callback is good once: a replay finds no sign-in.
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    Ok((pair, location(&done)))
}

async fn get(server: &Server, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = browser()
        .get(format!("{}{path}", server.base))
        .header(ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_signs_in_through_the_identity_provider() {
    let idp = FakeIdp::start().await;
    let lake = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = lake.path().join("devex.toml");
    std::fs::write(
        &config,
        format!(
            r#"[auth.oidc]
issuer_url = "{issuer}"
client_id = "{CLIENT_ID}"
redirect_url = "http://127.0.0.1:{port}/auth/callback"
admin_groups = ["platform"]
viewer_groups = ["eng"]
scopes = ["groups"]
"#,
            issuer = idp.issuer
        ),
    )
    .unwrap();
    // Every address, with no token: single sign-on is auth enough to start.
    let addr = format!("0.0.0.0:{port}");
    let server = Server::start_on(
        &lake.path().join("lake"),
        &addr,
        &["--config", config.to_str().unwrap()],
        // The secret from the environment, as the README advises.
        &[("DEVEX_AUTH__OIDC__CLIENT_SECRET", CLIENT_SECRET)],
    );

    // Single sign-on counts as auth: the API wants a token or a session,
    // and a browser asking for a page is sent to sign in, to come back.
    assert_eq!(get(&server, "/api/v1/tables", None).await.0, 401);
    let response = browser()
        .get(format!("{}/cost?month=2026-10", server.base))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/auth/login?next=%2Fcost%3Fmonth%3D2026-10"
    );
    assert_eq!(get(&server, "/healthz", None).await.0, 200);

    // A viewer reads the portal and the API, but not admin routes.
    idp.sign_in_as(User::new("user-eng-1", &["eng", "other"]));
    let (viewer, landed) = sign_in(&server, "/auth/login?next=%2Fcost").await.unwrap();
    assert_eq!(landed, "/cost");
    let (status, page) = get(&server, "/cost", Some(&viewer)).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"action="/auth/logout""#),
        "a way out: {page}"
    );
    assert_eq!(get(&server, "/api/v1/tables", Some(&viewer)).await.0, 200);
    assert_eq!(get(&server, "/api/v1/audit", Some(&viewer)).await.0, 403);
    let calls = idp.calls();
    assert!(
        calls.discovery == 1 && calls.jwks == 1 && calls.token == 1,
        "discovered once, then the kept keys check tokens: {calls:?}"
    );

    // An admin, whose groups only the userinfo endpoint tells; the next
    // address may not lead off the server.
    idp.sign_in_as(User {
        groups_in_userinfo_only: true,
        ..User::new("user-platform-1", &["platform"])
    });
    let (admin, landed) = sign_in(&server, "/auth/login?next=%2F%2Fevil.example")
        .await
        .unwrap();
    assert_eq!(landed, "/");
    assert_eq!(idp.calls().userinfo, 1);
    let (status, audit) = get(&server, "/api/v1/audit?limit=1000", Some(&admin)).await;
    assert_eq!(status, 200, "{audit}");
    // A signed-in browser changes things only from devex's own pages: a
    // sibling site's POST (same site, so the cookie goes along) is refused.
    let query = |origin: String| {
        browser()
            .post(format!("{}/api/v1/query", server.base))
            .header(COOKIE, &admin)
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(r#"{"sql": "SELECT count(*) AS n FROM deployments"}"#)
            .send()
    };
    let foreign = query("https://attacker.example.com".into()).await.unwrap();
    assert_eq!(foreign.status(), 403);
    let own = query(server.base.clone()).await.unwrap();
    assert_eq!(own.status(), 200, "{}", own.text().await.unwrap());

    // Someone in none of the groups is refused, saying why.
    idp.sign_in_as(User::new("user-sales-1", &["sales"]));
    let (status, page) = sign_in(&server, "/auth/login").await.unwrap_err();
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("none of devex"), "{page}");
    // An ID token made out to another client fails its check.
    idp.sign_in_as(User {
        wrong_audience: true,
        ..User::new("user-platform-2", &["platform"])
    });
    let (status, page) = sign_in(&server, "/auth/login").await.unwrap_err();
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("ID token failed its check"), "{page}");
    // A made-up or foreign session cookie is no session.
    assert_eq!(
        get(&server, "/api/v1/tables", Some("devex_session=forged"))
            .await
            .0,
        401
    );
    // Tokens keep working beside sign-on.
    let response = browser()
        .get(format!("{}/api/v1/tables", server.base))
        .header(AUTHORIZATION, "Bearer dvx_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Signing out ends the session and removes the cookie.
    let out = browser()
        .post(format!("{}/auth/logout", server.base))
        .header(COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/auth/signed-out");
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(get(&server, "/api/v1/tables", Some(&viewer)).await.0, 401);
    assert_eq!(get(&server, "/api/v1/tables", Some(&admin)).await.0, 200);

    // The audit log has each sign-in, refusal and sign-out, by subject,
    // and never a session id or the client secret.
    let (_, audit) = get(&server, "/api/v1/audit?limit=1000", Some(&admin)).await;
    let entries: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let logins: Vec<(String, String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("portal."))
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("oidc:user-eng-1", "portal.login", "allowed as viewer"),
        ("oidc:user-platform-1", "portal.login", "allowed as admin"),
        ("oidc:user-sales-1", "portal.login", "403 forbidden"),
        ("anonymous", "portal.login", "401 unauthorized"),
        ("oidc:user-eng-1", "portal.logout", "allowed"),
    ];
    for (actor, action, outcome) in expected {
        assert!(
            logins
                .iter()
                .any(|l| (l.0.as_str(), l.1.as_str(), l.2.as_str()) == (actor, action, outcome)),
            "{actor} {action} {outcome} missing from {logins:?}"
        );
    }
    let session_id = viewer.split_once('=').unwrap().1;
    assert!(!audit.contains(session_id) && !audit.contains(CLIENT_SECRET));
    // The viewer's refused audit read is on record under its subject.
    assert!(audit.contains("oidc:user-eng-1"), "{audit}");
    assert!(server.terminate().success());
}
