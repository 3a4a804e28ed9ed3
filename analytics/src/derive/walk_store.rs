//! Where the walk's results live: one generation per production pattern and
//! input content, the folder `_derived/deployment_changes/<pattern>-<input>/`,
//! holding the changes in parts by service (`bNN.parquet`, [`BUCKETS`] of
//! them, a service's rows all in one) and `manifest.json`, written last,
//! which records the input files the walk read.
//!
//! A walk that visits a few services writes again only the parts holding
//! them (the previous generation's rows of the other services there, plus
//! the new ones) and links the other parts from the previous generation. So
//! a derive after one new deployment rewrites one part of 4.5 million rows'
//! worth (at scale 75) instead of all of them, and the DORA steps, which
//! compare the new generation with the one their base read, compare only
//! the parts that are not the same file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use sha2::{Digest, Sha256};

use super::walk_scope::WalkManifest;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// Parts of a generation.
const BUCKETS: usize = 32;
const MANIFEST: &str = "manifest.json";

/// The part holding `service`'s rows.
fn bucket_of(service: &str) -> usize {
    Sha256::digest(service.as_bytes())[0] as usize % BUCKETS
}

fn part_name(bucket: usize) -> String {
    format!("b{bucket:02}.parquet")
}

/// A stored generation's part files, when it is complete.
pub(crate) fn parts(queries: &LakeQueries, unit: &str) -> Option<Vec<std::path::PathBuf>> {
    let folder = queries.lake().derived_path(unit);
    if !folder.join(MANIFEST).exists() {
        return None;
    }
    let parts: Vec<_> = (0..BUCKETS)
        .map(|b| folder.join(part_name(b)))
        .filter(|p| p.exists())
        .collect();
    (!parts.is_empty()).then_some(parts)
}

/// The newest complete generation under `folder` whose name starts with
/// `prefix`, its manifest, and a lease that keeps it while it is read.
pub(crate) async fn previous(
    queries: &LakeQueries,
    folder: &str,
    prefix: &str,
) -> Option<(String, WalkManifest, Option<ingest::lake::DerivedLease>)> {
    let lake = queries.lake();
    let stored = lake.derived_files(folder).await.ok()?;
    let newest = stored
        .iter()
        .filter_map(|(relative, modified)| {
            let (unit, file) = relative.split_once('/')?;
            (file == MANIFEST && unit.starts_with(prefix)).then_some((*modified, unit))
        })
        .max()?
        .1;
    let unit = format!("{folder}/{newest}");
    let lease = lake.lease_derived(&unit).ok();
    let text = std::fs::read_to_string(lake.derived_path(&format!("{unit}/{MANIFEST}"))).ok()?;
    let manifest = serde_json::from_str(&text).ok()?;
    Some((unit, manifest, lease))
}

/// Writes generation `unit`: the `changes` of the services a walk visited
/// (`None`: of every service) and, from generation `base`, the rows of the
/// others. Parts without a visited service are linked from `base`.
pub(crate) fn write(
    queries: &LakeQueries,
    unit: &str,
    changes: &[super::DeploymentChange],
    visited: Option<(&BTreeSet<String>, &str)>,
    manifest: &WalkManifest,
) -> Result<()> {
    let lake = queries.lake();
    let mut by_bucket: BTreeMap<usize, Vec<&super::DeploymentChange>> = BTreeMap::new();
    for change in changes {
        by_bucket
            .entry(bucket_of(&change.service))
            .or_default()
            .push(change);
    }
    let rewritten: BTreeSet<usize> = match visited {
        Some((services, _)) => services.iter().map(|s| bucket_of(s)).collect(),
        None => (0..BUCKETS).collect(),
    };
    for bucket in 0..BUCKETS {
        let name = part_name(bucket);
        let base_part = visited
            .map(|(_, base)| lake.derived_path(&format!("{base}/{name}")))
            .filter(|p| p.exists());
        if !rewritten.contains(&bucket) {
            if let (Some(_), Some((_, base))) = (&base_part, visited) {
                lake.link_derived_file(&format!("{base}/{name}"), &format!("{unit}/{name}"))?;
            }
            continue;
        }
        let mut batches = match (&base_part, visited) {
            (Some(path), Some((services, _))) => rows_of_other_services(path, services)?,
            _ => Vec::new(),
        };
        let new = by_bucket.remove(&bucket).unwrap_or_default();
        batches.push(super::commit_graph::changes_batch(new.into_iter())?);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        // Every generation has part 0, so the table always has a schema.
        if rows > 0 || bucket == 0 {
            lake.write_derived_file(&format!("{unit}/{name}"), &encode(&batches)?)?;
        }
    }
    let manifest = serde_json::to_vec(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    lake.write_derived_file(&format!("{unit}/{MANIFEST}"), &manifest)?;
    Ok(())
}

fn encode(batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let broken = |e: String| Error::Internal(format!("writing deployment_changes: {e}"));
    let mut buffer = Vec::new();
    let schema = super::commit_graph::changes_schema();
    let mut writer =
        ArrowWriter::try_new(&mut buffer, schema, None).map_err(|e| broken(e.to_string()))?;
    for batch in batches {
        writer.write(batch).map_err(|e| broken(e.to_string()))?;
    }
    writer.close().map_err(|e| broken(e.to_string()))?;
    Ok(buffer)
}

/// The rows of a stored part whose service is not in `visited`.
fn rows_of_other_services(
    path: &std::path::Path,
    visited: &BTreeSet<String>,
) -> Result<Vec<RecordBatch>> {
    let broken = |e: String| Error::Internal(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| broken(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| broken(e.to_string()))?;
    let mut kept = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| broken(e.to_string()))?;
        let services = batch.column(0).as_string::<i32>();
        let keep: BooleanArray = services
            .iter()
            .map(|s| Some(!s.is_some_and(|s| visited.contains(s))))
            .collect();
        kept.push(
            arrow::compute::filter_record_batch(&batch, &keep)
                .map_err(|e| broken(e.to_string()))?,
        );
    }
    Ok(kept)
}

/// The parts as one table, read where they lie.
pub(crate) fn table(
    paths: &[std::path::PathBuf],
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let urls: Vec<String> = paths
        .iter()
        .map(|path| format!("file://{}", path.display()))
        .collect();
    crate::listing_table(&urls, super::commit_graph::changes_schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_always_falls_in_the_same_part() {
        assert_eq!(bucket_of("checkout"), bucket_of("checkout"));
        let parts: BTreeSet<usize> = (0..200).map(|i| bucket_of(&format!("s{i}"))).collect();
        assert!(
            parts.len() > BUCKETS / 2,
            "spread over the parts: {parts:?}"
        );
        assert!(parts.iter().all(|&b| b < BUCKETS));
    }
}
