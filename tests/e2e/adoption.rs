//! Platform usage events pushed to `devex serve` (`POST
//! /api/v1/events/usage`): stored durably and once, refused whole when one
//! event is bad, and counted by the adoption report.

use serde_json::json;

use crate::serve::Server;
use crate::sources::post;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_events_are_stored_once_and_counted() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start(lake.path(), false);
    let events = json!([
        {"event_id": "e1", "user": "ana@example.com", "team": "payments", "tool": "portal", "feature": "catalog", "at": "2026-11-02T09:00:00Z", "outcome": "success"},
        {"event_id": "e2", "user": "ana@example.com", "team": "payments", "tool": "cli", "feature": "scaffold", "at": "2026-11-03T09:00:00Z"},
        {"user": "bo@example.com", "team": "payments", "tool": "portal", "feature": "docs", "at": "2026-11-03T10:00:00Z", "outcome": "abandoned"}
    ]);
    let body = serde_json::to_vec(&events).unwrap();
    let (status, answer) = post(&server, "/api/v1/events/usage", &[], body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"received": 3, "stored": 3, "duplicates": 0}));
    // A redelivery (with or without event ids) is stored once.
    let (_, again) = post(&server, "/api/v1/events/usage", &[], body).await;
    assert_eq!(again, json!({"received": 3, "stored": 0, "duplicates": 3}));
    // One bad event refuses the delivery, naming it; nothing of it is kept.
    let bad = json!([
        {"user": "cy@example.com", "tool": "portal", "feature": "catalog", "at": "2026-11-04T09:00:00Z"},
        {"user": "cy@example.com", "tool": "portal", "feature": "catalog", "at": "last tuesday"}
    ]);
    let (status, refused) = post(
        &server,
        "/api/v1/events/usage",
        &[],
        serde_json::to_vec(&bad).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("events[1].at: `last tuesday`"),
        "{message}"
    );
    let (status, _) = post(&server, "/api/v1/events/usage", &[], b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    // The report counts the stored events: two users, three events.
    let report = server
        .get_json("/api/v1/adoption?from=2026-11-01&to=2026-11-08&group_by=tool")
        .await;
    assert_eq!(report["overall"]["active_users"], 2, "{report}");
    assert_eq!(report["overall"]["events"], 3);
    let portal = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tool"] == "portal")
        .unwrap();
    assert_eq!(portal["active_users"], 2);
    assert!(server.terminate().success());
    // Stored as pseudonyms only.
    let users = query_json(lake.path(), "SELECT DISTINCT \"user\" FROM platform_usage");
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!users.to_string().contains('@'), "{users}");
}
