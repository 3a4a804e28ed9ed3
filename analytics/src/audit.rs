//! Reading the audit log (`ingest::schema::AUDIT`), newest first. Who may
//! read it is the caller's business: the HTTP guard lets admins only, the
//! CLI whoever can read the lake.

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::template::{local_midnight, sql_instant};
use crate::{LakeQueries, QueryResult};

/// The most entries one answer lists.
pub const MAX_ENTRIES: usize = 10_000;

/// Entries since the start of `since` (UTC), newest first, at most `limit`.
pub async fn entries(
    queries: &LakeQueries,
    since: Option<NaiveDate>,
    limit: usize,
) -> Result<QueryResult> {
    let context = queries.scratch_context().await?;
    crate::register_table(&context, queries.lake(), &ingest::schema::AUDIT)
        .map_err(Error::Engine)?;
    let filter = since
        .map(|day| {
            format!(
                "WHERE at >= {}",
                sql_instant(local_midnight(chrono_tz::UTC, day))
            )
        })
        .unwrap_or_default();
    queries
        .read_only_sql_on(
            &context,
            &format!(
                "SELECT at, actor, action, target, origin, outcome FROM audit {filter} \
                 ORDER BY at DESC, event_id LIMIT {}",
                limit.clamp(1, MAX_ENTRIES)
            ),
        )
        .await
}
