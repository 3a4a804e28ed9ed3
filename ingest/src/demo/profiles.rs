//! The four performance profiles (elite, high, medium, low) and the teams
//! that follow them: what drives each team's cadence, review waits, CI
//! flakiness and change failures.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) enum Cadence {
    EveryMerge,
    Daily,
    /// Every other Tuesday: between once a week and once a month (DORA medium).
    Fortnightly,
    /// The first Wednesday of every other month: less than monthly (DORA low).
    Bimonthly,
}

/// How a team works.
#[derive(Debug)]
pub(super) struct Profile {
    pub(super) level: &'static str,
    /// Chance a developer opens a pull request on a working day.
    pub(super) pr_rate: f64,
    pub(super) coding_hours: f64,
    pub(super) pickup_hours: f64,
    pub(super) review_hours: f64,
    pub(super) cadence: Cadence,
    pub(super) change_failure: f64,
    pub(super) recovery_hours: f64,
    pub(super) flaky_rate: f64,
    pub(super) ci_minutes: f64,
    pub(super) merged_without_review: f64,
}

pub(super) static PROFILES: [Profile; 4] = [
    Profile {
        level: "elite",
        pr_rate: 0.45,
        coding_hours: 6.0,
        pickup_hours: 1.5,
        review_hours: 2.0,
        cadence: Cadence::EveryMerge,
        change_failure: 0.04,
        recovery_hours: 0.6,
        flaky_rate: 0.03,
        ci_minutes: 7.0,
        merged_without_review: 0.02,
    },
    Profile {
        level: "high",
        pr_rate: 0.38,
        coding_hours: 16.0,
        pickup_hours: 5.0,
        review_hours: 6.0,
        cadence: Cadence::Daily,
        change_failure: 0.09,
        recovery_hours: 5.0,
        flaky_rate: 0.06,
        ci_minutes: 12.0,
        merged_without_review: 0.05,
    },
    Profile {
        level: "medium",
        pr_rate: 0.30,
        coding_hours: 40.0,
        pickup_hours: 14.0,
        review_hours: 16.0,
        cadence: Cadence::Fortnightly,
        change_failure: 0.17,
        recovery_hours: 36.0,
        flaky_rate: 0.10,
        ci_minutes: 20.0,
        merged_without_review: 0.08,
    },
    Profile {
        level: "low",
        pr_rate: 0.22,
        coding_hours: 80.0,
        pickup_hours: 30.0,
        review_hours: 30.0,
        cadence: Cadence::Bimonthly,
        change_failure: 0.32,
        recovery_hours: 200.0,
        flaky_rate: 0.16,
        ci_minutes: 32.0,
        merged_without_review: 0.12,
    },
];

pub(super) const TEAM_NAMES: [&str; 8] = [
    "checkout", "payments", "search", "identity", "platform", "data", "mobile", "growth",
];
/// Profile index of each team in the cycle above: some elite, some low.
pub(super) const TEAM_PROFILES: [usize; 8] = [0, 1, 2, 3, 1, 0, 2, 3];
pub(super) const TEAM_SIZES: [usize; 8] = [45, 38, 30, 42, 35, 40, 33, 37];
pub(super) const SERVICE_KINDS: [&str; 5] = ["api", "web", "worker", "gateway", "jobs"];
/// How many of the first team's services share its monorepo.
pub(super) const MONOREPO_SERVICES: usize = 3;
pub(super) const ZONES: [Tz; 2] = [chrono_tz::Europe::Berlin, chrono_tz::America::New_York];
/// Question ids of the demo's DevEx quarterly survey (Likert 1-5).
pub const SURVEY_LIKERT_QUESTIONS: [&str; 10] = [
    "ci_speed_satisfaction",
    "local_validation_time",
    "ease_of_deploying",
    "codebase_complexity",
    "ease_of_debugging",
    "docs_clarity",
    "ability_to_focus",
    "task_goal_clarity",
    "oncall_disruption",
    "perceived_productivity",
];
