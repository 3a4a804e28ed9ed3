//! Rows held per table until they are many enough to write.

use super::*;

/// Builders of every table, written out when they grow large.
pub(super) struct Output {
    pub(super) builders: Vec<TableBuilder>,
    /// Numbers work-activity events, which have no natural key of their own.
    pub(super) activity_sequence: u64,
}

impl Output {
    /// Adds a typed row.
    pub(super) fn push_row(&mut self, row: impl Into<crate::canonical::Row>) -> Result<()> {
        let (table, values) = row.into();
        self.push(table, values)
    }

    pub(super) fn new() -> Output {
        Output {
            builders: TABLES.iter().map(|t| TableBuilder::new(t)).collect(),
            activity_sequence: 0,
        }
    }

    pub(super) fn push(&mut self, table: &'static TableSpec, values: Vec<Value>) -> Result<()> {
        let index = TABLES
            .iter()
            .position(|t| t.name == table.name)
            .unwrap_or(0);
        self.builders[index].push(values)
    }

    pub(super) async fn flush_large(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        self.flush(lake, summaries, FLUSH_ROWS).await
    }

    pub(super) async fn flush_all(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        self.flush(lake, summaries, 1).await
    }

    pub(super) async fn flush(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
        at_least: usize,
    ) -> Result<()> {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            if builder.len() >= at_least {
                let batch = builder.finish()?;
                let summary = lake.append(builder.spec(), &batch).await?;
                summaries[i].1.add(&summary);
            }
        }
        Ok(())
    }
}
