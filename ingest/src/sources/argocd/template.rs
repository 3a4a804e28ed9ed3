//! `devex argocd template`: the `argocd-notifications-cm` entries that send
//! devex a deployment when a sync finishes healthy, fails or degrades. The
//! receiver reads exactly this body.

/// The marker of the body's shape, checked by the receiver.
pub const BODY_VERSION: &str = "devex.argocd/v1";

/// The ConfigMap data to merge into `argocd-notifications-cm`, for a devex
/// reachable at `url`. The token goes in `argocd-notifications-secret` under
/// `devex-token`.
pub fn config_map(url: &str) -> String {
    let url = url.trim_end_matches('/');
    format!(
        r#"# Merge into the data of ConfigMap argocd-notifications-cm (namespace argocd),
# put devex's token (devex.toml [argocd] token, or DEVEX_ARGOCD__TOKEN) into
# Secret argocd-notifications-secret under the key devex-token, and subscribe
# apps with the annotation
#   notifications.argoproj.io/subscribe.devex-deployment.devex: ""
# (or add the subscription below to every app).
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-notifications-cm
data:
  service.webhook.devex: |
    url: {url}/webhooks/argocd
    headers:
    - name: Authorization
      value: Bearer $devex-token
    - name: Content-Type
      value: application/json

  template.devex-deployment: |
    webhook:
      devex:
        method: POST
        body: |
          {{
            "version": "{BODY_VERSION}",
            "app": "{{{{.app.metadata.name}}}}",
            "project": "{{{{.app.spec.project}}}}",
            "revision": "{{{{.app.status.operationState.syncResult.revision}}}}",
            "phase": "{{{{.app.status.operationState.phase}}}}",
            "startedAt": "{{{{.app.status.operationState.startedAt}}}}",
            "finishedAt": "{{{{.app.status.operationState.finishedAt}}}}",
            "health": "{{{{.app.status.health.status}}}}",
            "destination": {{
              "server": "{{{{.app.spec.destination.server}}}}",
              "name": "{{{{.app.spec.destination.name}}}}",
              "namespace": "{{{{.app.spec.destination.namespace}}}}"
            }},
            "environment": "{{{{index .app.metadata.labels "devex.io/environment"}}}}"
          }}

  trigger.devex-deployment: |
    - description: A sync finished and the app is healthy: a deployment.
      when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'
      oncePer: app.status.operationState?.syncResult?.revision + app.status.operationState?.startedAt
      send: [devex-deployment]
    - description: A sync failed: a failed deployment.
      when: app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']
      oncePer: app.status.operationState?.syncResult?.revision + app.status.operationState?.startedAt
      send: [devex-deployment]
    - description: The app degraded after its sync: a failed deployment.
      when: app.status.operationState != nil and app.status.health.status == 'Degraded'
      oncePer: app.status.operationState?.syncResult?.revision + app.status.operationState?.startedAt
      send: [devex-deployment]

  subscriptions: |
    - recipients: [devex]
      triggers: [devex-deployment]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_yaml_whose_body_is_json_once_rendered() {
        let text = config_map("https://devex.example.com/");
        assert!(text.contains("url: https://devex.example.com/webhooks/argocd"));
        // The body, with each Go template action replaced as Argo CD would
        // render it, is the JSON the receiver reads.
        let body = text
            .split("body: |\n")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .next()
            .unwrap();
        let mut rendered = String::new();
        let mut rest = body;
        while let Some(start) = rest.find("{{") {
            rendered.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start + 2;
            rendered.push('x');
            rest = &rest[end..];
        }
        rendered.push_str(rest);
        let value: serde_json::Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(value["version"], BODY_VERSION);
        for field in [
            "app",
            "revision",
            "phase",
            "startedAt",
            "finishedAt",
            "health",
            "environment",
        ] {
            assert_eq!(value[field], "x", "{field}");
        }
        assert_eq!(value["destination"]["namespace"], "x");
    }
}
