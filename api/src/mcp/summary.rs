//! The short text before each tool's JSON: the headline numbers in words,
//! read from the very JSON that follows (nothing is computed here).

use serde_json::Value;

/// The summary of tool `name`'s answer.
pub fn of(name: &str, json: &Value) -> String {
    match name {
        "list_teams_services" => catalog(json),
        "dora_report" => dora_report(json),
        "dora_series" => dora_series(json),
        "deployment_drilldown" => drilldown(json),
        "compare_periods" => compare(json),
        "survey_waves" => format!("{} survey waves.", count(json, "surveys")),
        "survey_results" => survey(json),
        _ => generic(name, json),
    }
}

fn count(json: &Value, key: &str) -> usize {
    json.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

fn text<'a>(json: &'a Value, key: &str) -> &'a str {
    json.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn window(json: &Value) -> String {
    format!(
        "{} to {} ({})",
        text(json, "from"),
        text(json, "to"),
        text(json, "tz")
    )
}

fn number(value: &Value, decimals: usize) -> String {
    value
        .as_f64()
        .map_or_else(|| "n/a".to_string(), |v| format!("{v:.decimals$}"))
}

fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn level(metrics: &Value, key: &str) -> String {
    match metrics["levels"][key].as_str() {
        Some(level) => level.to_string(),
        None if metrics["levels"].get("insufficient_data").is_some() => {
            "not graded: too few deployments".to_string()
        }
        None => "not graded".to_string(),
    }
}

/// One line of the five keys.
fn dora_line(m: &Value) -> String {
    format!(
        "{} deployments ({}/week, {}); lead time median {} h ({}); change failure rate {} ({} of {} failed, {}); recovery median {} h ({}); rework {}",
        m["deployments"],
        number(&m["deployments_per_week"], 2),
        level(m, "deployment_frequency"),
        number(&m["lead_time_median_hours"], 1),
        level(m, "lead_time_for_changes"),
        percent(&m["change_failure_rate"]),
        m["failed_deployments"],
        m["deployments"],
        level(m, "change_failure_rate"),
        number(&m["recovery_time_median_hours"], 1),
        level(m, "failed_deployment_recovery_time"),
        percent(&m["rework_rate"]),
    )
}

fn group_label(group: &Value) -> String {
    ["service", "team"]
        .iter()
        .find_map(|key| {
            group
                .get(*key)
                .map(|v| format!("{key} {}", v.as_str().unwrap_or("(none)")))
        })
        .unwrap_or_else(|| "overall".to_string())
}

fn catalog(json: &Value) -> String {
    let names = |key: &str, field: &str| -> String {
        let list: Vec<&str> = json[key]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i[field].as_str()).collect())
            .unwrap_or_default();
        list.join(", ")
    };
    format!(
        "{} teams ({}); {} services ({}).",
        count(json, "teams"),
        names("teams", "team"),
        count(json, "services"),
        names("services", "service"),
    )
}

fn dora_report(json: &Value) -> String {
    let mut lines = vec![format!(
        "DORA, {}: overall {}.",
        window(json),
        dora_line(&json["overall"])
    )];
    for group in json["groups"].as_array().into_iter().flatten().take(20) {
        lines.push(format!("- {}: {}.", group_label(group), dora_line(group)));
    }
    if count(json, "groups") > 20 {
        lines.push(format!(
            "({} groups in all; the JSON has each.)",
            count(json, "groups")
        ));
    }
    lines.push(format!("Levels: {}.", text(json, "levels_source")));
    lines.join("\n")
}

fn dora_series(json: &Value) -> String {
    let points = json["points"].as_array().cloned().unwrap_or_default();
    let mut lines = vec![format!(
        "DORA per {}, {}: {} points.",
        text(json, "granularity"),
        window(json),
        points.len()
    )];
    for point in points
        .iter()
        .rev()
        .filter(|p| p["partial"] == false)
        .take(3)
    {
        lines.push(format!(
            "- {} to {} ({}): {}.",
            text(point, "period_start"),
            text(point, "period_end"),
            group_label(point),
            dora_line(point)
        ));
    }
    lines.join("\n")
}

fn drilldown(json: &Value) -> String {
    let deployments = json["deployments"].as_array().cloned().unwrap_or_default();
    let total = json["truncated"]["total"]
        .as_u64()
        .map_or(deployments.len(), |t| t as usize);
    if deployments.len() == 1 && total == 1 {
        return one_deployment(&deployments[0]);
    }
    let failed = deployments.iter().filter(|d| d["failed"] == true).count();
    let mut lines = vec![format!(
        "{total} production deployments, {}; {} shown (newest first), {failed} of them failed.",
        window(json),
        deployments.len()
    )];
    for deployment in deployments.iter().filter(|d| d["failed"] == true).take(10) {
        lines.push(format!("- {}", one_deployment(deployment)));
    }
    lines.join("\n")
}

fn one_deployment(d: &Value) -> String {
    let causes: Vec<String> = d["failure_causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|cause| match cause["kind"].as_str() {
            Some("incident") => format!(
                "incident {} from {} (attributed by {})",
                text(cause, "incident_id"),
                text(cause, "source"),
                text(cause, "attribution")
            ),
            _ => format!("rolled back by {}", text(cause, "deployment_id")),
        })
        .collect();
    let outcome = if d["failed"] == true {
        let recovery = if d["unrecovered"] == true {
            "not recovered yet".to_string()
        } else {
            format!("recovered after {} h", number(&d["recovery_hours"], 1))
        };
        format!("failed: {}; {recovery}", causes.join("; "))
    } else {
        "did not fail".to_string()
    };
    format!(
        "Deployment {} of {} (team {}) at {}: {}, {} changes; {}.",
        text(d, "deployment_id"),
        text(d, "service"),
        d["team"].as_str().unwrap_or("unowned"),
        text(d, "deployed_at"),
        text(d, "class"),
        count(d, "changes"),
        outcome
    )
}

fn compare(json: &Value) -> String {
    let period = |p: &Value| {
        format!(
            "{} ({} to {}, n = {})",
            number(&p["median"], 2),
            text(p, "from"),
            text(p, "to"),
            p["n"]
        )
    };
    format!(
        "{} in {}: median {} in a, {} in b; difference {}; verdict: {} (p = {}).",
        text(json, "metric"),
        text(json, "unit"),
        period(&json["a"]),
        period(&json["b"]),
        number(&json["difference"], 2),
        text(json, "verdict"),
        number(&json["p_value"], 3),
    )
}

fn survey(json: &Value) -> String {
    let list = |key: &str, describe: &dyn Fn(&Value) -> String| -> Vec<String> {
        json[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(describe)
            .collect()
    };
    let shown = list("groups", &|g| {
        format!("{} ({} respondents)", text(g, "group"), g["respondents"])
    });
    let hidden = list("hidden", &|g| {
        format!("{} ({})", text(g, "group"), text(g, "reason"))
    });
    let mut line = format!("Survey {}: ", text(json, "survey_id"));
    if shown.is_empty() {
        line.push_str("no group can be shown");
    } else {
        line.push_str(&format!("shown: {}", shown.join(", ")));
    }
    if !hidden.is_empty() {
        line.push_str(&format!(
            "; hidden by the anonymity rules, with no numbers: {}",
            hidden.join(", ")
        ));
    }
    line.push('.');
    line
}

/// The window and the size of each list in the answer.
fn generic(name: &str, json: &Value) -> String {
    let mut parts = Vec::new();
    if json.get("from").is_some() {
        parts.push(format!("{} to {}", text(json, "from"), text(json, "to")));
    }
    if let Some(object) = json.as_object() {
        for (key, value) in object {
            if let Some(items) = value.as_array() {
                parts.push(format!("{} {key}", items.len()));
            }
        }
    }
    format!("{name}: {}.", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_deployment_is_said_with_its_cause_and_recovery() {
        let deployment = json!({
            "deployment_id": "d-7", "service": "checkout-api", "team": "payments",
            "deployed_at": "2026-10-02T10:00:00Z", "class": "counted",
            "changes": [{}, {}], "failed": true, "unrecovered": false,
            "recovery_hours": 3.26,
            "failure_causes": [{"kind": "incident", "incident_id": "PD-1",
                "source": "pagerduty", "attribution": "linked_deployment_id"}]
        });
        assert_eq!(
            one_deployment(&deployment),
            "Deployment d-7 of checkout-api (team payments) at 2026-10-02T10:00:00Z: counted, 2 changes; failed: incident PD-1 from pagerduty (attributed by linked_deployment_id); recovered after 3.3 h."
        );
    }

    #[test]
    fn an_ungraded_metric_says_why() {
        let metrics = json!({"levels": {"insufficient_data": {"deployments": 2}}});
        assert_eq!(
            level(&metrics, "change_failure_rate"),
            "not graded: too few deployments"
        );
        assert_eq!(percent(&json!(0.125)), "12.5%");
        assert_eq!(percent(&Value::Null), "n/a");
    }
}
