//! A context over a generation also carries the generation's `data_as_of`
//! (the newest event of the inputs it was derived from), which its reports
//! give, however much newer the lake is by then.
//!
//! Derived generations stay while they are read: a context over derived
//! files carries the leases of the generations it reads (`ingest`'s
//! `Lake::lease_derived`) as a session extension. Every plan and running
//! query built from the context holds a copy of its session, so a
//! generation is removed only after the last query reading it ends, in this
//! process or any other.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use ingest::lake::DerivedLease;

/// The leases a context holds.
#[derive(Debug, Default)]
struct GenerationLeases(Vec<Arc<DerivedLease>>);

/// The leases `context` holds (to pass on to a context built from it).
pub(crate) fn held(context: &SessionContext) -> Vec<Arc<DerivedLease>> {
    context
        .state_ref()
        .read()
        .config()
        .get_extension::<GenerationLeases>()
        .map(|leases| leases.0.clone())
        .unwrap_or_default()
}

/// Makes `context`, and every query planned on it from now, hold `leases`
/// (in place of what it held).
pub(crate) fn hold(context: &SessionContext, leases: Vec<Arc<DerivedLease>>) {
    context
        .state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(GenerationLeases(leases)));
}

/// The newest event of the inputs a generation was derived from.
#[derive(Debug)]
struct DataAsOf(Option<chrono::DateTime<chrono::Utc>>);

/// Marks `context` as derived from events up to `at`.
pub(crate) fn set_data_as_of(context: &SessionContext, at: Option<chrono::DateTime<chrono::Utc>>) {
    context
        .state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(DataAsOf(at)));
}

/// The newest event `context`'s generation was derived from, when it is
/// one (`None`: not a generation; `Some(None)`: derived from no events).
pub(crate) fn data_as_of(
    context: &SessionContext,
) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    context
        .state_ref()
        .read()
        .config()
        .get_extension::<DataAsOf>()
        .map(|at| at.0)
}

#[cfg(test)]
mod tests {
    use crate::dora::DoraSettings;
    use crate::test_rows::append_deployment;
    use crate::LakeQueries;
    use ingest::lake::Lake;
    use std::sync::Arc;

    /// Deployment `n`, `n` hours after the first.
    async fn deploy(lake: &Lake, n: usize) {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap()
            + chrono::Duration::hours(n as i64);
        append_deployment(lake, &n.to_string(), &format!("sha{n}"), &at.to_rfc3339()).await;
    }

    fn generations(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join("_derived/materialized"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// A query planned on one generation runs to the end after twelve newer
    /// ones pushed it out of every cache and past the kept folders.
    #[tokio::test]
    async fn a_query_planned_on_an_old_generation_still_runs() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        deploy(&lake, 0).await;
        let queries = LakeQueries::open(lake.clone()).await.unwrap();
        let settings = DoraSettings::default();
        let old = crate::dora::materialized_context(&queries, &settings)
            .await
            .unwrap();
        let planned = old
            .sql("SELECT count(*) AS n FROM production_deployments")
            .await
            .unwrap();
        drop(old);
        for n in 1..=12 {
            deploy(&lake, n).await;
            crate::dora::materialized_context(&queries, &settings)
                .await
                .unwrap();
        }
        // Eight kept, plus the one still read.
        assert_eq!(generations(dir.path()), 9);
        let batches = planned.collect().await.unwrap();
        let n = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(n.contains("| 1 "), "{n}");
        // Released, it goes with the next removal.
        drop(batches);
        deploy(&lake, 13).await;
        crate::dora::materialized_context(&queries, &settings)
            .await
            .unwrap();
        assert_eq!(generations(dir.path()), 8);
    }
}
