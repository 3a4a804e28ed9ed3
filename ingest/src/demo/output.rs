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

    /// Writes out the largest tables until the rows held take no more than
    /// [`HELD_BYTES`]: the generator calls it after each repository, so its
    /// memory stays bounded whatever the scale.
    pub(super) async fn flush_over_budget(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        while self.held_bytes() > HELD_BYTES {
            let Some(largest) =
                (0..self.builders.len()).max_by_key(|&i| self.builders[i].estimated_bytes())
            else {
                break;
            };
            self.flush_one(lake, summaries, largest).await?;
        }
        Ok(())
    }

    pub(super) async fn flush_all(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        for i in 0..self.builders.len() {
            if !self.builders[i].is_empty() {
                self.flush_one(lake, summaries, i).await?;
            }
        }
        Ok(())
    }

    fn held_bytes(&self) -> usize {
        self.builders
            .iter()
            .map(TableBuilder::estimated_bytes)
            .sum()
    }

    async fn flush_one(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
        index: usize,
    ) -> Result<()> {
        let builder = &mut self.builders[index];
        let batch = builder.finish()?;
        let summary = lake.append(builder.spec(), &batch).await?;
        summaries[index].1.add(&summary);
        Ok(())
    }
}
