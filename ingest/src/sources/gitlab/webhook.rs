//! The GitLab webhook receiver: `X-Gitlab-Token` compared in constant time
//! with the configured token; the delivery named by `X-Gitlab-Event-UUID`
//! (else its content) and typed by `X-Gitlab-Event` (else `object_kind`).

use http::HeaderMap;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::config::GitlabConfig;
use super::rows::{parse, Context};
use crate::sources::webhook::{
    constant_time_eq, file_safe_id, header, DeliveryId, Parsed, PayloadError, WebhookContext,
    WebhookReceiver,
};

pub struct GitlabWebhook {
    token: Option<String>,
    incident_label: String,
}

impl GitlabWebhook {
    pub fn new(config: &GitlabConfig) -> GitlabWebhook {
        GitlabWebhook {
            token: config.webhook_token.clone().filter(|s| !s.is_empty()),
            incident_label: config.incident_label.clone(),
        }
    }
}

impl WebhookReceiver for GitlabWebhook {
    fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> Result<(), String> {
        let Some(token) = &self.token else {
            return Err("no webhook token is configured; set gitlab.webhook_token or DEVEX_GITLAB__WEBHOOK_TOKEN to the webhook's secret token".into());
        };
        let given = header(headers, "x-gitlab-token").unwrap_or("");
        if constant_time_eq(token.as_bytes(), given.as_bytes()) {
            Ok(())
        } else {
            Err("X-Gitlab-Token is missing or does not match the configured token".into())
        }
    }

    fn identify(&self, headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String> {
        let event = match header(headers, "x-gitlab-event") {
            Some(event) => event.to_string(),
            None => {
                let payload: Json =
                    serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
                payload["object_kind"]
                    .as_str()
                    .ok_or("X-Gitlab-Event header and `object_kind` are missing")?
                    .to_string()
            }
        };
        let id = match header(headers, "x-gitlab-event-uuid").map(file_safe_id) {
            Some(id) if !id.is_empty() => id,
            // Older GitLab sends no UUID: a resend of one event is the same body.
            _ => format!("gitlab-{}", hex::encode(&Sha256::digest(body)[..12])),
        };
        Ok(DeliveryId { id, event })
    }

    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError> {
        let payload: Json =
            serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
        let context = Context {
            pseudonymizer: context.pseudonymizer,
            catalog: context.catalog,
            incident_label: &self.incident_label,
            ai: context.ai,
        };
        parse(&delivery.event, &payload, &context)
    }

    fn keeps_header(&self, name: &str) -> bool {
        (name.starts_with("x-gitlab-") || name == "user-agent" || name == "content-type")
            && name != "x-gitlab-token"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Pseudonymizer;
    use crate::rows::Value;
    use crate::sources::CatalogView;

    use crate::sources::fixtures::bytes as fixture;

    fn parse_with(event: &str, body: &[u8], label: &str) -> Parsed {
        let receiver = GitlabWebhook::new(&GitlabConfig {
            incident_label: label.into(),
            ..GitlabConfig::default()
        });
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-event", event.parse().unwrap());
        let delivery = receiver.identify(&headers, body).unwrap();
        let pseudonymizer = Pseudonymizer::new(b"k");
        let catalog = CatalogView {
            repository_services: [("gitlab-org/hello-world".to_string(), "hello".to_string())]
                .into(),
            ..CatalogView::default()
        };
        receiver
            .parse(
                &delivery,
                body,
                &WebhookContext {
                    pseudonymizer: &pseudonymizer,
                    catalog: &catalog,
                    ai: crate::ai_attribution::AiAttribution::defaults(),
                },
            )
            .unwrap()
    }

    fn rows(event: &str, path: &str) -> Rows {
        match parse_with(event, &fixture(path), "incident") {
            Parsed::Rows(rows) => rows,
            Parsed::Kept(reason) => panic!("{path} kept: {reason}"),
        }
    }

    fn at(t: &str) -> Value {
        Value::Timestamp(crate::sources::json::parse_time(t).unwrap())
    }

    use crate::canonical::Rows;

    #[test]
    fn the_token_is_compared_whole() {
        let receiver = GitlabWebhook::new(&GitlabConfig {
            webhook_token: Some("s3cret".into()),
            ..GitlabConfig::default()
        });
        let mut headers = HeaderMap::new();
        assert!(receiver.verify(&headers, b"").is_err());
        headers.insert("x-gitlab-token", "s3cre".parse().unwrap());
        assert!(receiver.verify(&headers, b"").is_err());
        headers.insert("x-gitlab-token", "s3cret".parse().unwrap());
        assert!(receiver.verify(&headers, b"").is_ok());
        assert!(!receiver.keeps_header("x-gitlab-token"));
    }

    #[test]
    fn pushes_merge_requests_and_approvals() {
        let push = rows("Push Hook", "xanzy-go-gitlab/webhooks/push.json");
        assert_eq!((push[0].0.name, push.len()), ("pushes", 3));
        assert_eq!(push[0].1[1], Value::text("mike/diaspora"));
        // The head commit's time, with its offset, as UTC.
        assert_eq!(push[0].1[6], at("2012-01-03T21:36:29Z"));
        assert_eq!(
            push[2].1[2],
            Value::text("da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        );
        let opened = rows(
            "Merge Request Hook",
            "xanzy-go-gitlab/webhooks/merge_request.json",
        );
        assert_eq!(
            (&opened[0].1[2], &opened[0].1[8]),
            (&Value::Integer(1), &Value::Null)
        );
        // Merged, in the older timestamp form: merged at its last update.
        let merged = rows(
            "Merge Request Hook",
            "drone-go-scm/gitlab/pull_request_merge.json",
        );
        assert_eq!(merged[0].1[8], at("2017-12-10 17:08:07 UTC"));
        assert_eq!(
            merged[0].1[10],
            Value::text("78a76ee6b4992a6baf64c59fc4c44c7323d60438")
        );
        // Closed is not merged.
        let closed = rows(
            "Merge Request Hook",
            "drone-go-scm/gitlab/pull_request_close.json",
        );
        assert_eq!(
            (&closed[0].1[8], &closed[0].1[10]),
            (&Value::Null, &Value::Null)
        );
        assert!(matches!(closed[0].1[9], Value::Timestamp(_)));
        // An approval is also a review.
        let mut approval: Json =
            serde_json::from_slice(&fixture("xanzy-go-gitlab/webhooks/merge_request.json"))
                .unwrap();
        approval["object_attributes"]["action"] = "approved".into();
        let Parsed::Rows(approved) = parse_with(
            "Merge Request Hook",
            approval.to_string().as_bytes(),
            "incident",
        ) else {
            panic!()
        };
        assert_eq!(
            (approved[1].0.name, &approved[1].1[4]),
            ("reviews", &Value::text("approved"))
        );
        // No login or e-mail survives.
        for (_, row) in push.iter().chain(&merged).chain(&approved) {
            for value in row {
                if let Value::Text(t) = value {
                    assert!(
                        !t.contains('@') && !t.contains("jsmith") && !t.contains("gitlab-user"),
                        "{t}"
                    );
                }
            }
        }
    }

    #[test]
    fn pipelines_jobs_deployments_incidents_and_releases() {
        let pipeline = rows("Pipeline Hook", "xanzy-go-gitlab/webhooks/pipeline.json");
        let run = &pipeline[0].1;
        assert_eq!(
            (&run[1], &run[3], &run[11]),
            (
                &Value::text("gitlab-org/gitlab-test"),
                &Value::text("31"),
                &Value::text("success")
            )
        );
        assert_eq!(run[8], at("2016-08-12 15:23:28 UTC"));
        // Started after its 12 s in the queue.
        assert_eq!(run[9], at("2016-08-12 15:23:40 UTC"));
        assert_eq!(run[10], at("2016-08-12 15:26:29 UTC"));
        let job = rows("Job Hook", "xanzy-go-gitlab/webhooks/job.json");
        let job = &job[0].1;
        assert_eq!(
            (&job[1], &job[6], &job[10]),
            (
                &Value::text("jsmithy2/release-tools-fake"),
                &Value::text("completed"),
                &Value::text("success")
            )
        );
        assert_eq!(
            job[12],
            Value::TextList(vec!["linux".into(), "docker".into()])
        );
        let created = rows("Job Hook", "xanzy-go-gitlab/webhooks/build.json");
        assert_eq!(
            (&created[0].1[6], &created[0].1[10]),
            (&Value::text("queued"), &Value::Null)
        );
        let deployment = rows(
            "Deployment Hook",
            "xanzy-go-gitlab/webhooks/deployment.json",
        );
        let d = &deployment[0].1;
        assert_eq!(
            (&d[1], &d[2], &d[3], &d[5]),
            (
                &Value::text("test-deployment-webhooks"),
                &Value::text("staging"),
                &Value::text("279484c09fbe69ededfced8c1bb6e6d24616b468"),
                &Value::text("success")
            )
        );
        assert_eq!(d[7], at("2021-04-28T19:50:00Z"));
        // An issue is an incident by type or by the configured label.
        let body = fixture("xanzy-go-gitlab/webhooks/issue.json");
        assert!(matches!(
            parse_with("Issue Hook", &body, "incident"),
            Parsed::Kept(_)
        ));
        let Parsed::Rows(by_label) = parse_with("Issue Hook", &body, "api") else {
            panic!()
        };
        assert_eq!(by_label[0].1[3], Value::text("sev2"));
        let mut typed: Json = serde_json::from_slice(&body).unwrap();
        typed["object_attributes"]["issue_type"] = "incident".into();
        assert!(matches!(
            parse_with("Issue Hook", typed.to_string().as_bytes(), "incident"),
            Parsed::Rows(_)
        ));
        let Parsed::Rows(closed) = parse_with(
            "Issue Hook",
            &fixture("drone-go-scm/gitlab/issue_closed.json"),
            "critical",
        ) else {
            panic!()
        };
        assert_eq!(
            (&closed[0].1[1], &closed[0].1[6]),
            (&Value::text("hello"), &at("2017-12-10 16:41:28 UTC"))
        );
        let release = rows("Release Hook", "xanzy-go-gitlab/webhooks/release.json");
        assert_eq!(release[0].1[3], Value::text("1.0.0"));
        assert!(matches!(
            parse_with(
                "Tag Push Hook",
                &fixture("xanzy-go-gitlab/webhooks/tag_push.json"),
                "incident"
            ),
            Parsed::Kept(_)
        ));
    }
}
