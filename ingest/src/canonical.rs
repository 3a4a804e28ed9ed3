//! Typed rows of the canonical tables: one struct per table, its fields in
//! the table's column order, so a source builds `Deployment { service, .. }`
//! rather than a positional list of values. [`Row::from`] turns one into the
//! `(table, values)` pair the lake's batch builders take; a unit test checks
//! every struct against its [`TableSpec`] (names, order, types, nullability).

use crate::rows::Value;
use crate::schema::{self, ColumnKind, TableSpec};

/// One canonical row and its table.
pub type Row = (&'static TableSpec, Vec<Value>);

/// Canonical rows of one delivery or page.
pub type Rows = Vec<Row>;

/// A UTC instant as microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Micros(pub i64);

/// A money amount scaled by 10^[`schema::MONEY_SCALE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaledMoney(pub i128);

impl ScaledMoney {
    /// A decimal at the lake's scale, rounded half to even; `None` when it
    /// does not fit.
    pub fn from_decimal(value: rust_decimal::Decimal) -> Option<ScaledMoney> {
        let scale = schema::MONEY_SCALE as u32;
        let mut rounded = value
            .round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointNearestEven);
        rounded.rescale(scale);
        (rounded.scale() == scale).then(|| ScaledMoney(rounded.mantissa()))
    }
}

/// A Rust type that fills a canonical column.
pub trait CellValue {
    const KIND: ColumnKind;
    const NULLABLE: bool = false;
    fn into_value(self) -> Value;
}

impl CellValue for String {
    const KIND: ColumnKind = ColumnKind::Text;
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}

impl CellValue for i64 {
    const KIND: ColumnKind = ColumnKind::Integer;
    fn into_value(self) -> Value {
        Value::Integer(self)
    }
}

impl CellValue for f64 {
    const KIND: ColumnKind = ColumnKind::Float;
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl CellValue for Micros {
    const KIND: ColumnKind = ColumnKind::Timestamp;
    fn into_value(self) -> Value {
        Value::Timestamp(self.0)
    }
}

impl CellValue for ScaledMoney {
    const KIND: ColumnKind = ColumnKind::Money;
    fn into_value(self) -> Value {
        Value::Money(self.0)
    }
}

impl CellValue for chrono::NaiveDate {
    const KIND: ColumnKind = ColumnKind::Date;
    fn into_value(self) -> Value {
        Value::date(self)
    }
}

/// A list column; empty is an empty list, not null (use `Option` for null).
impl CellValue for Vec<String> {
    const KIND: ColumnKind = ColumnKind::TextList;
    const NULLABLE: bool = true;
    fn into_value(self) -> Value {
        Value::TextList(self)
    }
}

impl<T: CellValue> CellValue for Option<T> {
    const KIND: ColumnKind = T::KIND;
    const NULLABLE: bool = true;
    fn into_value(self) -> Value {
        self.map_or(Value::Null, CellValue::into_value)
    }
}

/// What every typed row tells about itself.
pub trait CanonicalRow: Into<Row> {
    const TABLE: &'static TableSpec;
    /// Field names, kinds and nullability, in column order.
    const FIELDS: &'static [(&'static str, ColumnKind, bool)];
}

macro_rules! canonical_rows {
    ($(
        $(#[$doc:meta])*
        $name:ident => $table:ident { $($field:ident : $ty:ty),* $(,)? }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            pub event_id: String,
            $(pub $field: $ty),*
        }

        impl From<$name> for Row {
            fn from(row: $name) -> Row {
                (
                    &schema::$table,
                    vec![Value::Text(row.event_id), $(CellValue::into_value(row.$field)),*],
                )
            }
        }

        impl CanonicalRow for $name {
            const TABLE: &'static TableSpec = &schema::$table;
            const FIELDS: &'static [(&'static str, ColumnKind, bool)] = &[
                ("event_id", ColumnKind::Text, false),
                $((stringify!($field), <$ty as CellValue>::KIND, <$ty as CellValue>::NULLABLE)),*
            ];
        }
    )*};
}

canonical_rows! {
    /// A git commit; `parents` is null when the source does not list them
    /// (a push), an empty list for a root commit.
    Commit => COMMITS {
        repo: String, sha: String, parents: Option<Vec<String>>, author: String,
        authored_at: Micros, committed_at: Option<Micros>, message_summary: Option<String>,
        files: Option<Vec<String>>, ai_tool: Option<String>,
    }
    /// A push to a branch or tag.
    Push => PUSHES {
        repo: String, r#ref: String, before_sha: Option<String>, after_sha: Option<String>,
        commit_shas: Vec<String>, pushed_at: Micros, actor: Option<String>,
    }
    /// One observed state of a pull (merge) request.
    PullRequest => PULL_REQUESTS {
        repo: String, number: i64, author: String, created_at: Micros,
        first_commit_at: Option<Micros>, first_review_at: Option<Micros>,
        approved_at: Option<Micros>, merged_at: Option<Micros>, closed_at: Option<Micros>,
        merge_sha: Option<String>, base_ref: Option<String>, additions: Option<i64>,
        deletions: Option<i64>, commits_count: Option<i64>, labels: Vec<String>,
        files: Option<Vec<String>>, ai_tool: Option<String>,
    }
    /// A submitted review (or approval) of a pull request.
    Review => REVIEWS {
        repo: String, pr_number: i64, reviewer: String, state: String, submitted_at: Micros,
    }
    /// One attempt of a CI run at one status.
    CiRun => CI_RUNS {
        repo: String, pipeline: String, run_id: String, attempt: i64, sha: String,
        r#ref: Option<String>, trigger: Option<String>, queued_at: Micros,
        started_at: Option<Micros>, finished_at: Option<Micros>, conclusion: Option<String>,
        runner_os: Option<String>, billable_minutes: Option<f64>,
    }
    /// One job of a CI run at one status.
    CiJob => CI_JOBS {
        repo: String, run_id: String, attempt: i64, job_id: String, name: String,
        status: String, queued_at: Option<Micros>, started_at: Micros,
        finished_at: Option<Micros>, conclusion: Option<String>, runner_name: Option<String>,
        runner_labels: Vec<String>,
    }
    /// A release at one state.
    Release => RELEASES {
        repo: String, release_id: String, tag: String, target: Option<String>, kind: String,
        created_at: Micros, published_at: Option<Micros>,
    }
    /// A finished deployment attempt.
    Deployment => DEPLOYMENTS {
        service: String, environment: String, sha: String, deployment_id: String,
        status: String, started_at: Micros, finished_at: Option<Micros>, source: String,
    }
    /// One observed state of an incident.
    Incident => INCIDENTS {
        service: String, incident_id: String, severity: Option<String>, opened_at: Micros,
        acknowledged_at: Option<Micros>, resolved_at: Option<Micros>,
        deployment_id: Option<String>, sha: Option<String>,
    }
    /// One unit of a developer's work (for context switches).
    WorkActivity => WORK_ACTIVITY {
        developer: String, at: Micros, kind: String, item: String, repo: String,
    }
    /// One use of a platform tool.
    PlatformUsage => PLATFORM_USAGE {
        user: String, team: Option<String>, tool: String, feature: String, at: Micros,
        outcome: Option<String>,
    }
    /// One person's use of one AI assistant on one day, surface, editor and
    /// language, as last reported.
    AiUsage => AI_USAGE {
        user: String, tool: String, day: chrono::NaiveDate, surface: String,
        editor: Option<String>, language: Option<String>, interactions: Option<i64>,
        suggestions: Option<i64>, acceptances: Option<i64>, lines_suggested: Option<i64>,
        lines_accepted: Option<i64>, reported_at: Option<Micros>,
    }
    /// One answer of one survey response.
    SurveyAnswer => SURVEY_RESPONSES {
        survey_id: String, response_id: String, respondent: String, team: Option<String>,
        submitted_at: Micros, question_id: String, value_numeric: Option<f64>,
        value_text: Option<String>,
    }
    /// One cost line (FOCUS columns).
    Cost => COSTS {
        charge_period_start: Micros, charge_period_end: Micros, billed_cost: ScaledMoney,
        effective_cost: Option<ScaledMoney>, list_cost: Option<ScaledMoney>,
        billing_currency: String, charge_category: Option<String>,
        provider_name: Option<String>, service_name: Option<String>,
        resource_id: Option<String>, resource_name: Option<String>,
        sub_account_name: Option<String>, tags: Option<String>,
        source_currency: Option<String>, exchange_rate: Option<ScaledMoney>,
    }
    /// A team of the catalog.
    Team => TEAMS {
        team: String, parent: Option<String>, members_count: Option<i64>,
        valid_from: Option<Micros>,
    }
    /// A service of the catalog and its repositories.
    Service => SERVICES {
        service: String, owner_team: String, system: Option<String>, repos: Vec<String>,
        lifecycle: Option<String>, annotations: Option<String>, paths: Vec<String>,
        valid_from: Option<Micros>,
    }
    /// A developer's membership of a team over time.
    TeamMember => TEAM_MEMBERS {
        developer: String, team: String, valid_from: Micros, valid_to: Option<Micros>,
    }
    /// One entry of devex's audit log (not a canonical table).
    AuditEntry => AUDIT {
        at: Micros, actor: String, action: String, target: Option<String>,
        origin: Option<String>, outcome: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<R: CanonicalRow>() {
        let spec = R::TABLE;
        let fields: Vec<(String, ColumnKind, bool)> = R::FIELDS
            .iter()
            .map(|(name, kind, nullable)| {
                (name.trim_start_matches("r#").to_string(), *kind, *nullable)
            })
            .collect();
        let columns: Vec<(String, ColumnKind, bool)> = spec
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.kind, c.nullable))
            .collect();
        assert_eq!(
            fields, columns,
            "the typed row of `{}` does not match its table",
            spec.name
        );
    }

    #[test]
    fn every_typed_row_matches_its_table_column_for_column() {
        check::<Commit>();
        check::<Push>();
        check::<PullRequest>();
        check::<Review>();
        check::<CiRun>();
        check::<CiJob>();
        check::<Release>();
        check::<Deployment>();
        check::<Incident>();
        check::<WorkActivity>();
        check::<PlatformUsage>();
        check::<SurveyAnswer>();
        check::<Cost>();
        check::<AiUsage>();
        check::<Team>();
        check::<Service>();
        check::<TeamMember>();
        check::<AuditEntry>();
        let typed = 17;
        assert_eq!(schema::TABLES.len(), typed, "a table has no typed row");
    }

    #[test]
    fn a_typed_row_becomes_values_in_column_order() {
        let (table, values) = Row::from(Review {
            event_id: "e".into(),
            repo: "a/b".into(),
            pr_number: 7,
            reviewer: "dev".into(),
            state: "approved".into(),
            submitted_at: Micros(5),
        });
        assert_eq!(table.name, "reviews");
        assert_eq!(
            values,
            vec![
                Value::text("e"),
                Value::text("a/b"),
                Value::Integer(7),
                Value::text("dev"),
                Value::text("approved"),
                Value::Timestamp(5)
            ]
        );
    }
}
