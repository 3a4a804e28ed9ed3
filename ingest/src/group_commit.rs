//! Group commit: many small appends (webhook deliveries) share one durable
//! commit. One writer task takes every batch that queued while the previous
//! commit ran and appends them together, one append per table (a file and
//! an fsync per partition instead of per delivery), then answers each caller
//! with its own counts. A caller's rows are durable when `commit` returns.

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::schema::TableSpec;

/// A batch and the table it belongs to.
pub type RecordBatchOf = (&'static TableSpec, RecordBatch);

/// Stored and skipped rows of one caller's commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitCounts {
    pub stored: usize,
    pub duplicates: usize,
}

/// Why a group commit failed, told to each caller in it.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    lake_not_writable: bool,
}

struct Job {
    batches: Vec<RecordBatchOf>,
    reply: oneshot::Sender<std::result::Result<CommitCounts, Failure>>,
}

/// At most this many callers share one commit.
const MOST_JOBS_PER_COMMIT: usize = 1024;

/// The handle of the writer task; clones share it.
#[derive(Clone)]
pub struct GroupCommit {
    sender: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task (on the current tokio runtime).
    pub fn start(lake: Arc<Lake>) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(4 * MOST_JOBS_PER_COMMIT);
        tokio::spawn(write_commits(lake, receiver));
        GroupCommit { sender }
    }

    /// Appends `batches` in the next commit and returns, once it is durable,
    /// how many of their rows were stored and how many were already there.
    pub async fn commit(&self, batches: Vec<RecordBatchOf>) -> Result<CommitCounts> {
        let stopped = || Error::Internal("the group-commit writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { batches, reply })
            .await
            .map_err(|_| stopped())?;
        match answer.await.map_err(|_| stopped())? {
            Ok(counts) => Ok(counts),
            Err(failure) if failure.lake_not_writable => Err(Error::LakeUnavailable {
                message: failure.message,
            }),
            Err(failure) => Err(Error::Internal(failure.message)),
        }
    }
}

async fn write_commits(lake: Arc<Lake>, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MOST_JOBS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let committed = commit_jobs(&lake, &jobs).await;
        tracing::debug!(
            callers = jobs.len(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
        match committed {
            Ok(counts) => {
                for (job, counts) in jobs.into_iter().zip(counts) {
                    let _ = job.reply.send(Ok(counts));
                }
            }
            Err(e) => {
                let failure = Failure {
                    message: e.to_string(),
                    lake_not_writable: matches!(
                        e,
                        Error::LakeNotWritable { .. } | Error::LakeUnavailable { .. }
                    ),
                };
                for job in jobs {
                    let _ = job.reply.send(Err(failure.clone()));
                }
            }
        }
    }
}

/// Appends the rows of all `jobs`, one append per table, and counts per job
/// what was stored and what was already there.
async fn commit_jobs(lake: &Lake, jobs: &[Job]) -> Result<Vec<CommitCounts>> {
    let mut counts = vec![CommitCounts::default(); jobs.len()];
    // Per table, in first-seen order: each job's batch.
    let mut tables: Vec<(&'static TableSpec, Vec<(usize, &RecordBatch)>)> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for (table, batch) in &job.batches {
            match tables.iter_mut().find(|(t, _)| t.name == table.name) {
                Some((_, parts)) => parts.push((j, batch)),
                None => tables.push((table, vec![(j, batch)])),
            }
        }
    }
    for (table, parts) in tables {
        let batch = concat_batches(&table.schema(), parts.iter().map(|(_, b)| *b))?;
        let (_, stored) = lake.append_reporting(table, &batch).await?;
        let mut offset = 0;
        for (j, part) in parts {
            let rows = part.num_rows();
            let kept = stored[offset..offset + rows].iter().filter(|s| **s).count();
            counts[j].stored += kept;
            counts[j].duplicates += rows - kept;
            offset += rows;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{TableBuilder, Value};
    use crate::schema::INCIDENTS;

    fn incident(id: &str) -> RecordBatchOf {
        let mut builder = TableBuilder::new(&INCIDENTS);
        builder
            .push(vec![
                Value::text(format!("test:{id}")),
                Value::text("shop"),
                Value::text(id),
                Value::text("sev2"),
                Value::Timestamp(1_767_225_600_000_000),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ])
            .unwrap();
        (&INCIDENTS, builder.finish().unwrap())
    }

    #[tokio::test]
    async fn concurrent_callers_get_their_own_counts() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let writer = GroupCommit::start(lake);
        let (a, b, again) = tokio::join!(
            writer.commit(vec![incident("a")]),
            writer.commit(vec![incident("b"), incident("c")]),
            writer.commit(vec![incident("a")]),
        );
        let (a, b, again) = (a.unwrap(), b.unwrap(), again.unwrap());
        assert_eq!(
            b,
            CommitCounts {
                stored: 2,
                duplicates: 0
            }
        );
        // The same event twice: stored once, whichever caller came first.
        assert_eq!(a.stored + again.stored, 1);
        assert_eq!(a.duplicates + again.duplicates, 1);
    }
}
