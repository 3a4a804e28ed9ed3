//! Funnels: how many users go through a configured sequence of platform
//! steps, in order and each within `step_days` of the previous one
//! (`funnel_events.sql` holds the definition).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{window_values, AdoptionRequest};
use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::template::{fill, sql_text};
use crate::LakeQueries;

const FUNNEL_EVENTS: &str = include_str!("funnel_events.sql");

/// One step of a funnel, as configured: `tool:feature` or `tool:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStepSpec {
    pub tool: String,
    /// `None`: any feature of the tool.
    pub feature: Option<String>,
}

impl FunnelStepSpec {
    /// Reads `tool:feature`; `funnel` names the funnel in the error.
    pub fn parse(funnel: &str, text: &str) -> Result<FunnelStepSpec> {
        match text.split_once(':') {
            Some((tool, feature)) if !tool.trim().is_empty() && !feature.trim().is_empty() => {
                Ok(FunnelStepSpec {
                    tool: tool.trim().to_string(),
                    feature: (feature.trim() != "*").then(|| feature.trim().to_string()),
                })
            }
            _ => Err(Error::InvalidSetting(format!(
                "adoption.funnels.{funnel}: step `{text}` is not `tool:feature` (or `tool:*` for any feature), e.g. `template:scaffold-service`"
            ))),
        }
    }

    fn condition(&self) -> String {
        match &self.feature {
            Some(feature) => format!(
                "tool = {} AND feature = {}",
                sql_text(&self.tool),
                sql_text(feature)
            ),
            None => format!("tool = {}", sql_text(&self.tool)),
        }
    }
}

/// One step of a funnel's result.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FunnelStep {
    pub step: String,
    /// Users who reached it (null when the funnel is hidden).
    pub users: Option<u64>,
    /// Of the users of the first step.
    pub share: Option<f64>,
    /// Median days from the previous step, over the users who reached this
    /// one; null for the first step and when fewer than the minimum group
    /// size reached it.
    pub median_days_from_previous: Option<f64>,
}

/// A funnel's result.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Funnel {
    pub funnel: String,
    pub step_days: u32,
    pub steps: Vec<FunnelStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

/// Each configured funnel over the request's window.
pub(super) async fn funnels(
    queries: &LakeQueries,
    request: &AdoptionRequest,
) -> Result<Vec<Funnel>> {
    let mut out = Vec::new();
    for (name, steps) in &request.adoption.funnels {
        let specs = steps
            .iter()
            .map(|s| FunnelStepSpec::parse(name, s))
            .collect::<Result<Vec<_>>>()?;
        out.push(funnel(queries, request, name, steps, &specs).await?);
    }
    Ok(out)
}

async fn funnel(
    queries: &LakeQueries,
    request: &AdoptionRequest,
    name: &str,
    labels: &[String],
    specs: &[FunnelStepSpec],
) -> Result<Funnel> {
    let mut values = window_values(request);
    let step_events = specs
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            format!(
                "SELECT \"user\", {k} AS step, at FROM platform_usage WHERE at >= {} AND at < {} AND {}",
                values[0].1,
                values[1].1,
                spec.condition()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    values.push(("step_events", step_events));
    let result = queries
        .read_only_sql(&fill(FUNNEL_EVENTS, &values)?)
        .await?;
    let c = Columns::new(&result.batches);
    // user -> each step's event times, ascending (the query sorts them).
    let mut per_user: BTreeMap<String, Vec<Vec<i64>>> = BTreeMap::new();
    for ((user, step), at) in c
        .text("user")?
        .into_iter()
        .zip(c.int("step")?)
        .zip(c.micros("at")?)
    {
        let (Some(user), Some(step), Some(at)) = (user, step, at) else {
            continue;
        };
        per_user
            .entry(user)
            .or_insert_with(|| vec![Vec::new(); specs.len()])[step as usize]
            .push(at);
    }
    let window = i64::from(request.adoption.step_days) * 86_400_000_000;
    let mut reached = vec![0u64; specs.len()];
    let mut gaps: Vec<Vec<f64>> = vec![Vec::new(); specs.len()];
    for times in per_user.values() {
        for (k, gap) in chain(times, window).into_iter().enumerate() {
            let Some(gap) = gap else { break };
            reached[k] += 1;
            if k > 0 {
                gaps[k].push(gap as f64 / 86_400_000_000.0);
            }
        }
    }
    let min = request.settings.min_group_size as u64;
    let first = reached.first().copied().unwrap_or(0);
    let hidden = first < min;
    let steps = labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            let mut sorted = std::mem::take(&mut gaps[k]);
            sorted.sort_by(f64::total_cmp);
            FunnelStep {
                step: label.clone(),
                users: (!hidden).then_some(reached[k]),
                share: (!hidden).then(|| reached[k] as f64 / first as f64),
                median_days_from_previous: if hidden || (sorted.len() as u64) < min {
                    None
                } else {
                    crate::stats::median(&sorted)
                },
            }
        })
        .collect();
    Ok(Funnel {
        funnel: name.to_string(),
        step_days: request.adoption.step_days,
        steps,
        hidden_reason: hidden.then(|| {
            format!(
                "fewer than {min} users reached the first step (devex.min_group_size): too few to show without pointing at people"
            )
        }),
    })
}

/// One user's way through the steps: for each step reached, the time from
/// the previous step (0 for the first); `None` from the first step not
/// reached. `times[k]` are the user's step-k event times, ascending.
fn chain(times: &[Vec<i64>], window: i64) -> Vec<Option<i64>> {
    let mut out = vec![None; times.len()];
    // The times at which the user had reached the previous step.
    let mut previous: Vec<i64> = match times.first() {
        Some(first) if !first.is_empty() => first.clone(),
        _ => return out,
    };
    out[0] = Some(0);
    for k in 1..times.len() {
        let mut reached_at = Vec::new();
        let mut first_gap = None;
        for &t in &times[k] {
            // The latest previous-step time strictly before t.
            let before = previous.partition_point(|&p| p < t);
            if before == 0 {
                continue;
            }
            let gap = t - previous[before - 1];
            if gap <= window {
                first_gap.get_or_insert(gap);
                reached_at.push(t);
            }
        }
        match first_gap {
            Some(gap) => out[k] = Some(gap),
            None => break,
        }
        previous = reached_at;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn a_chain_needs_order_and_each_step_in_time() {
        let window = 14 * DAY;
        // Step 2 before step 1 does not count; the later step-1 event starts it.
        let times = vec![vec![5 * DAY], vec![2 * DAY, 8 * DAY], vec![30 * DAY]];
        assert_eq!(chain(&times, window), vec![Some(0), Some(3 * DAY), None]);
        // A second, later step-1 event rescues a step 2 too late for the first.
        let times = vec![vec![0, 20 * DAY], vec![25 * DAY], vec![26 * DAY]];
        assert_eq!(
            chain(&times, window),
            vec![Some(0), Some(5 * DAY), Some(DAY)]
        );
        // Nothing of step 1: nothing at all.
        assert_eq!(chain(&[vec![], vec![DAY]], window), vec![None, None]);
        // Exactly step_days later still counts; a moment later does not.
        assert_eq!(chain(&[vec![0], vec![window]], window)[1], Some(window));
        assert_eq!(chain(&[vec![0], vec![window + 1]], window)[1], None);
    }

    #[test]
    fn steps_read_tool_and_feature() {
        let step = FunnelStepSpec::parse("f", "template:scaffold-service").unwrap();
        assert_eq!(step.feature.as_deref(), Some("scaffold-service"));
        assert_eq!(FunnelStepSpec::parse("f", "cli:*").unwrap().feature, None);
        let err = FunnelStepSpec::parse("onboarding", "scaffold").unwrap_err();
        assert!(
            err.to_string().contains("adoption.funnels.onboarding"),
            "{err}"
        );
    }
}
