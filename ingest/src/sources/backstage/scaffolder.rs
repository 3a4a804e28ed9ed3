//! Backstage scaffolder tasks (`GET /api/scaffolder/v2/tasks`) as platform
//! usage: each finished run of a template is a use of the tool `template`,
//! the feature the template's name, by the user who ran it.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::aliases::user_identity;
use super::entities::ref_name;
use crate::canonical::{Micros, PlatformUsage, Row};
use crate::identity::Pseudonymizer;
use crate::sources::json::parse_time;

/// The tasks of one page: Backstage answers `{"tasks": [...],
/// "totalTasks": N}`, older releases a bare list.
pub fn tasks_of(page: &Json) -> Option<&Vec<Json>> {
    match page {
        Json::Array(list) => Some(list),
        Json::Object(map) => map.get("tasks").and_then(Json::as_array),
        _ => None,
    }
}

/// The outcome of a task status; `None` while it runs (it is read again
/// when finished) or when it was skipped.
fn outcome(status: &str) -> Option<&'static str> {
    match status {
        "completed" => Some("success"),
        "failed" => Some("failure"),
        "cancelled" => Some("abandoned"),
        _ => None,
    }
}

/// Who knows what of the catalog's users and teams.
pub struct People<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    /// Pseudonym of `backstage-user:<name>` -> developer id.
    pub aliases: &'a BTreeMap<String, String>,
    /// Developer id -> a team they are in.
    pub teams: &'a HashMap<String, String>,
}

/// A finished task as a row; `Ok(None)` for one still running or skipped,
/// `Err` names what a task lacks.
pub fn task_row(task: &Json, people: &People<'_>) -> Result<Option<Row>, String> {
    let text = |path: &[&str]| {
        let mut at = task;
        for part in path {
            at = at.get(part)?;
        }
        at.as_str().map(str::to_string).filter(|s| !s.is_empty())
    };
    let id = text(&["id"]).ok_or("a task has no id")?;
    let Some(outcome) = text(&["status"]).as_deref().and_then(outcome) else {
        return Ok(None);
    };
    let template = text(&["spec", "templateInfo", "entityRef"])
        .or_else(|| text(&["spec", "metadata", "name"]))
        .map(|r| ref_name(&r))
        .ok_or_else(|| format!("task {id} names no template (spec.templateInfo.entityRef)"))?;
    let created = text(&["createdAt"]).ok_or_else(|| format!("task {id} has no createdAt"))?;
    let at = parse_time(&created)
        .ok_or_else(|| format!("task {id}: createdAt `{created}` is not an RFC 3339 time"))?;
    let Some(user_ref) = text(&["createdBy"]).or_else(|| text(&["spec", "user", "ref"])) else {
        // Run by a service, not a person: not a developer's use.
        return Ok(None);
    };
    let alias = people
        .pseudonymizer
        .pseudonym(&user_identity(&ref_name(&user_ref)));
    let user = people.aliases.get(&alias).cloned().unwrap_or(alias);
    Ok(Some(
        PlatformUsage {
            event_id: format!("backstage:scaffolder:{id}"),
            team: people.teams.get(&user).cloned(),
            user,
            tool: "template".into(),
            feature: template,
            at: Micros(at),
            outcome: Some(outcome.into()),
        }
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;
    use serde_json::json;

    #[test]
    fn finished_tasks_are_template_uses() {
        let p = Pseudonymizer::new(b"k");
        let jane = p.pseudonym("jane@example.com");
        let aliases = BTreeMap::from([(p.pseudonym("backstage-user:jane"), jane.clone())]);
        let teams = HashMap::from([(jane.clone(), "team-a".to_string())]);
        let people = People {
            pseudonymizer: &p,
            aliases: &aliases,
            teams: &teams,
        };
        let task = |status: &str| {
            json!({
                "id": "a1b2", "status": status, "createdAt": "2026-11-02T09:00:00.000Z",
                "createdBy": "user:default/jane", "lastHeartbeatAt": "2026-11-02T09:01:00Z",
                "spec": {"apiVersion": "scaffolder.backstage.io/v1beta3",
                         "templateInfo": {"entityRef": "template:default/node-service"},
                         "user": {"ref": "user:default/jane"}}
            })
        };
        let Some(row) = task_row(&task("failed"), &people).unwrap() else {
            panic!("a failed task is a use");
        };
        assert_eq!(row.1[0], Value::text("backstage:scaffolder:a1b2"));
        assert_eq!(row.1[1], Value::text(&jane));
        assert_eq!(row.1[2], Value::text("team-a"));
        assert_eq!(row.1[4], Value::text("node-service"));
        assert_eq!(row.1[6], Value::text("failure"));
        assert!(task_row(&task("processing"), &people).unwrap().is_none());
        let err = task_row(&json!({"id": "x", "status": "completed"}), &people).unwrap_err();
        assert!(err.contains("spec.templateInfo.entityRef"), "{err}");
        assert!(tasks_of(&json!({"tasks": [], "totalTasks": 0})).is_some());
    }
}
