//! Impact: AI-assisted against other pull requests merged in the same
//! window, per team and overall, overall and within each size bucket.
//!
//! Rule (devex's AI contract; the AI-versus-other comparison DORA 2025 and
//! the DX AI Measurement Framework make, with the rigour of devex's period
//! comparisons):
//! * durations (cycle, pickup and review hours) and size (lines changed)
//!   compare medians: the difference is median(AI) - median(other), with a
//!   95% bootstrap interval (2,000 resamples; past 400 pull requests the
//!   normal interval from Price and Bonett's standard errors of the two
//!   medians, which the bootstrap then agrees with at a fraction of the
//!   cost) and the two-sided Mann-Whitney U p-value (SciPy's asymptotic
//!   method);
//! * rates compare pooled ratios: the CI failure rate (failed over finished
//!   attempts of the pull requests' runs) and the rework rate (reworked
//!   within 30 days, of those whose 30 days are in the lake); the
//!   difference is rate(AI) - rate(other), with a bootstrap interval that
//!   resamples pull requests whole (past 400, the normal interval from
//!   the linearized standard errors, which keep pull requests whole too)
//!   and the two-proportion z-test p-value;
//! * significant: p below 0.05;
//! * strata: the same within each size bucket (`[ai.size_buckets]`), since
//!   AI-assisted changes differ in size and size drives review time;
//! * a group shows only when both sides have pull requests by at least the
//!   minimum group size of distinct authors: fewer would describe people.

use std::collections::BTreeSet;

use serde::Serialize;

use super::pull_requests::PullRequestRow;
use super::AiRequest;
use crate::privacy::Hidden;
use crate::stats;

const RESAMPLES: usize = 2000;
const SIGNIFICANCE: f64 = 0.05;

/// One side of a comparison: its median (durations, size) or rate, and n
/// (pull requests; for the CI failure rate, finished attempts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactSide {
    pub median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    pub n: u64,
}

/// A comparison within one size bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactStratum {
    /// `S`, `M` or `L`.
    pub size: String,
    pub ai: ImpactSide,
    pub other: ImpactSide,
    pub difference: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub significant: bool,
}

/// One measure compared.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactMetric {
    /// `cycle_time_hours`, `pickup_hours`, `review_hours`, `size_lines`,
    /// `ci_failure_rate` or `rework_rate`.
    pub metric: String,
    pub unit: String,
    pub ai: ImpactSide,
    pub other: ImpactSide,
    /// AI minus other.
    pub difference: Option<f64>,
    /// 95% bootstrap interval of the difference.
    pub interval: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub significant: bool,
    /// By size bucket (not for size itself).
    pub strata: Vec<ImpactStratum>,
}

/// The comparison of one team, or of the organisation (`team` null).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactGroup {
    pub team: Option<String>,
    pub metrics: Vec<ImpactMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

#[derive(Clone, Copy)]
enum Measure {
    Median(fn(&PullRequestRow) -> Option<f64>),
    /// (successes, trials) of a pull request, when it has trials.
    Rate(fn(&PullRequestRow) -> Option<(f64, f64)>),
}

const MEASURES: [(&str, &str, Measure); 6] = [
    (
        "cycle_time_hours",
        "hours",
        Measure::Median(|pr| pr.cycle_time_hours),
    ),
    (
        "pickup_hours",
        "hours",
        Measure::Median(|pr| pr.pickup_hours),
    ),
    (
        "review_hours",
        "hours",
        Measure::Median(|pr| pr.review_hours),
    ),
    (
        "size_lines",
        "lines",
        Measure::Median(|pr| pr.size.map(|s| s as f64)),
    ),
    (
        "ci_failure_rate",
        "share of finished CI attempts",
        Measure::Rate(|pr| {
            (pr.ci_attempts > 0).then_some((pr.ci_failures as f64, pr.ci_attempts as f64))
        }),
    ),
    (
        "rework_rate",
        "share of pull requests",
        Measure::Rate(|pr| {
            pr.observed
                .then_some((f64::from(u8::from(pr.reworked)), 1.0))
        }),
    ),
];

/// What a comparison of two samples gives.
struct Compared {
    ai: ImpactSide,
    other: ImpactSide,
    difference: Option<f64>,
    interval: Option<[f64; 2]>,
    p_value: Option<f64>,
}

fn compare(measure: Measure, ai: &[&PullRequestRow], other: &[&PullRequestRow]) -> Compared {
    match measure {
        Measure::Median(value) => {
            let sample = |prs: &[&PullRequestRow]| {
                let mut v: Vec<f64> = prs.iter().filter_map(|pr| value(pr)).collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let (a, o) = (sample(ai), sample(other));
            let side = |v: &[f64]| ImpactSide {
                median: stats::median(v),
                rate: None,
                n: v.len() as u64,
            };
            let (ai_side, other_side) = (side(&a), side(&o));
            let difference = ai_side.median.zip(other_side.median).map(|(x, y)| x - y);
            Compared {
                difference,
                interval: interval(
                    &a,
                    &o,
                    difference,
                    stats::median_standard_error,
                    stats::median_difference_interval,
                ),
                p_value: stats::mann_whitney_u(&a, &o).map(|t| t.p_value),
                ai: ai_side,
                other: other_side,
            }
        }
        Measure::Rate(units) => {
            let sample = |prs: &[&PullRequestRow]| -> Vec<(f64, f64)> {
                prs.iter().filter_map(|pr| units(pr)).collect()
            };
            let (a, o) = (sample(ai), sample(other));
            let totals =
                |v: &[(f64, f64)]| v.iter().fold((0.0, 0.0), |(x, n), u| (x + u.0, n + u.1));
            let ((ax, an), (ox, on)) = (totals(&a), totals(&o));
            let side = |x: f64, n: f64| ImpactSide {
                median: None,
                rate: (n > 0.0).then(|| x / n),
                n: n as u64,
            };
            let (ai_side, other_side) = (side(ax, an), side(ox, on));
            let difference = ai_side.rate.zip(other_side.rate).map(|(x, y)| x - y);
            Compared {
                difference,
                interval: interval(
                    &a,
                    &o,
                    difference,
                    stats::ratio_standard_error,
                    stats::ratio_difference_interval,
                ),
                p_value: stats::two_proportions_p(ax as u64, an as u64, ox as u64, on as u64),
                ai: ai_side,
                other: other_side,
            }
        }
    }
}

/// A bootstrap interval of a difference: (other, AI, resamples).
type Bootstrap<T> = fn(&[T], &[T], usize) -> Option<(f64, f64)>;

/// The 95% interval of statistic(AI) - statistic(other): the bootstrap's
/// for samples up to [`stats::LARGE_SAMPLE`] together, past it the
/// difference +- 1.96 combined standard errors.
fn interval<T>(
    ai: &[T],
    other: &[T],
    difference: Option<f64>,
    standard_error: fn(&[T]) -> Option<f64>,
    bootstrap: Bootstrap<T>,
) -> Option<[f64; 2]> {
    if ai.len() + other.len() <= stats::LARGE_SAMPLE {
        return bootstrap(other, ai, RESAMPLES).map(|(low, high)| [low, high]);
    }
    let (d, a, o) = (difference?, standard_error(ai)?, standard_error(other)?);
    let half = stats::Z95 * (a * a + o * o).sqrt();
    Some([d - half, d + half])
}

fn significant(p_value: Option<f64>) -> bool {
    p_value.is_some_and(|p| p < SIGNIFICANCE)
}

fn distinct_authors(prs: &[&PullRequestRow]) -> usize {
    prs.iter()
        .filter_map(|pr| pr.author.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
}

/// The comparison of one group's pull requests.
pub(super) fn group(
    request: &AiRequest,
    team: Option<String>,
    prs: &[&PullRequestRow],
) -> ImpactGroup {
    let min = request.min_group_size();
    let (ai, other): (Vec<&PullRequestRow>, Vec<&PullRequestRow>) =
        prs.iter().copied().partition(|pr| pr.ai_tool.is_some());
    if distinct_authors(&ai) < min || distinct_authors(&other) < min {
        return ImpactGroup {
            team,
            metrics: Vec::new(),
            hidden_reason: Some(format!(
                "{} (each side's pull requests must have that many authors)",
                Hidden::TooFew.reason(min, "authors")
            )),
        };
    }
    let buckets = request.settings.size_buckets;
    fn in_bucket<'a>(
        prs: &[&'a PullRequestRow],
        buckets: super::SizeBuckets,
        bucket: &str,
    ) -> Vec<&'a PullRequestRow> {
        prs.iter()
            .copied()
            .filter(|pr| pr.size.is_some_and(|s| buckets.bucket(s) == bucket))
            .collect()
    }
    let metrics = MEASURES
        .iter()
        .map(|(metric, unit, measure)| {
            let overall = compare(*measure, &ai, &other);
            let strata = match *metric {
                "size_lines" => Vec::new(),
                _ => ["S", "M", "L"]
                    .iter()
                    .map(|size| {
                        let c = compare(
                            *measure,
                            &in_bucket(&ai, buckets, size),
                            &in_bucket(&other, buckets, size),
                        );
                        ImpactStratum {
                            size: size.to_string(),
                            ai: c.ai,
                            other: c.other,
                            difference: c.difference,
                            interval: c.interval,
                            p_value: c.p_value,
                            significant: significant(c.p_value),
                        }
                    })
                    .collect(),
            };
            ImpactMetric {
                metric: metric.to_string(),
                unit: unit.to_string(),
                ai: overall.ai,
                other: overall.other,
                difference: overall.difference,
                interval: overall.interval,
                p_value: overall.p_value,
                significant: significant(overall.p_value),
                strata,
            }
        })
        .collect();
    ImpactGroup {
        team,
        metrics,
        hidden_reason: None,
    }
}

/// The organisation's comparison (unless a team was asked for) and each
/// team's.
pub(super) fn impact(request: &AiRequest, prs: &[PullRequestRow]) -> Vec<ImpactGroup> {
    let mut out = Vec::new();
    if request.team.is_none() {
        out.push(group(request, None, &prs.iter().collect::<Vec<_>>()));
    }
    let teams: BTreeSet<&String> = prs.iter().filter_map(|pr| pr.team.as_ref()).collect();
    for team in teams {
        if request.team.as_ref().is_some_and(|t| t != team) {
            continue;
        }
        let own: Vec<&PullRequestRow> = prs
            .iter()
            .filter(|pr| pr.team.as_ref() == Some(team))
            .collect();
        out.push(group(request, Some(team.clone()), &own));
    }
    out
}
