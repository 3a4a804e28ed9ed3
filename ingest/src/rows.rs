//! Building canonical RecordBatches row by row, and content-derived event ids.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::schema::{ColumnKind, TableSpec, MONEY_PRECISION, MONEY_SCALE};

/// One cell of a canonical row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Float(f64),
    /// Microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    TextList(Vec<String>),
    /// A decimal scaled by 10^[`MONEY_SCALE`].
    Money(i128),
    /// Days since 1970-01-01.
    Date(i32),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn opt_text(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::Text(s.into()))
    }

    /// A calendar day, as days since 1970-01-01. Every day chrono
    /// represents (about 262,000 years either side) fits an `i32`.
    pub fn date(day: chrono::NaiveDate) -> Value {
        Value::Date((day - chrono::NaiveDate::default()).num_days() as i32)
    }

    pub fn opt_timestamp(micros: Option<i64>) -> Value {
        micros.map_or(Value::Null, Value::Timestamp)
    }

    /// What the value takes in a column builder: its bytes, an offset for
    /// strings and lists, and a bit of validity (rounded up to a byte).
    fn estimated_bytes(&self) -> usize {
        1 + match self {
            Value::Null => 8,
            Value::Text(s) => s.len() + 4,
            Value::Integer(_) | Value::Float(_) | Value::Timestamp(_) => 8,
            Value::TextList(items) => 4 + items.iter().map(|i| i.len() + 4).sum::<usize>(),
            Value::Money(_) => 16,
            Value::Date(_) => 4,
        }
    }

    fn fits(&self, kind: ColumnKind) -> bool {
        matches!(
            (self, kind),
            (Value::Null, _)
                | (Value::Text(_), ColumnKind::Text)
                | (Value::Integer(_), ColumnKind::Integer)
                | (Value::Float(_), ColumnKind::Float)
                | (Value::Timestamp(_), ColumnKind::Timestamp)
                | (Value::TextList(_), ColumnKind::TextList)
                | (Value::Money(_), ColumnKind::Money)
                | (Value::Date(_), ColumnKind::Date)
        )
    }
}

enum ColumnBuilder {
    Text(StringBuilder),
    Integer(Int64Builder),
    Float(Float64Builder),
    Timestamp(TimestampMicrosecondBuilder),
    TextList(ListBuilder<StringBuilder>),
    Money(Decimal128Builder),
    Date(Date32Builder),
}

impl ColumnBuilder {
    fn new(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Text => ColumnBuilder::Text(StringBuilder::new()),
            ColumnKind::Integer => ColumnBuilder::Integer(Int64Builder::new()),
            ColumnKind::Float => ColumnBuilder::Float(Float64Builder::new()),
            ColumnKind::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new()),
            ColumnKind::TextList => ColumnBuilder::TextList(ListBuilder::new(StringBuilder::new())),
            ColumnKind::Money => ColumnBuilder::Money(Decimal128Builder::new()),
            ColumnKind::Date => ColumnBuilder::Date(Date32Builder::new()),
        }
    }

    fn append(&mut self, value: Value) {
        match (self, value) {
            (ColumnBuilder::Text(b), Value::Text(s)) => b.append_value(s),
            (ColumnBuilder::Text(b), _) => b.append_null(),
            (ColumnBuilder::Integer(b), Value::Integer(v)) => b.append_value(v),
            (ColumnBuilder::Integer(b), _) => b.append_null(),
            (ColumnBuilder::Float(b), Value::Float(v)) => b.append_value(v),
            (ColumnBuilder::Float(b), _) => b.append_null(),
            (ColumnBuilder::Timestamp(b), Value::Timestamp(v)) => b.append_value(v),
            (ColumnBuilder::Timestamp(b), _) => b.append_null(),
            (ColumnBuilder::TextList(b), Value::TextList(items)) => {
                for item in items {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            (ColumnBuilder::TextList(b), _) => b.append(false),
            (ColumnBuilder::Money(b), Value::Money(v)) => b.append_value(v),
            (ColumnBuilder::Money(b), _) => b.append_null(),
            (ColumnBuilder::Date(b), Value::Date(v)) => b.append_value(v),
            (ColumnBuilder::Date(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef> {
        Ok(match self {
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Integer(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish().with_timezone("UTC")),
            ColumnBuilder::TextList(b) => Arc::new(b.finish()),
            ColumnBuilder::Money(b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?,
            ),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
        })
    }
}

/// Accumulates rows of one canonical table into a RecordBatch.
pub struct TableBuilder {
    spec: &'static TableSpec,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    /// About the memory the rows take: a writer that streams flushes by it.
    bytes: usize,
}

impl TableBuilder {
    pub fn new(spec: &'static TableSpec) -> Self {
        TableBuilder {
            spec,
            columns: spec
                .columns
                .iter()
                .map(|c| ColumnBuilder::new(c.kind))
                .collect(),
            rows: 0,
            bytes: 0,
        }
    }

    pub fn spec(&self) -> &'static TableSpec {
        self.spec
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// About the bytes the rows so far take in memory (values, offsets and
    /// validity; not the builders' spare capacity).
    pub fn estimated_bytes(&self) -> usize {
        self.bytes
    }

    /// Appends one row given in the table's column order. A value of the wrong
    /// kind, or a null in a required column, is a bug of the caller.
    pub fn push(&mut self, values: Vec<Value>) -> Result<()> {
        if values.len() != self.spec.columns.len() {
            return Err(Error::Internal(format!(
                "row for {} has {} values, the table has {} columns",
                self.spec.name,
                values.len(),
                self.spec.columns.len()
            )));
        }
        for (value, column) in values.iter().zip(self.spec.columns) {
            if !value.fits(column.kind) || (!column.nullable && *value == Value::Null) {
                return Err(Error::Internal(format!(
                    "value {value:?} does not fit {}.{}",
                    self.spec.name, column.name
                )));
            }
        }
        for (builder, value) in self.columns.iter_mut().zip(values) {
            self.bytes += value.estimated_bytes();
            builder.append(value);
        }
        self.rows += 1;
        Ok(())
    }

    /// Returns the rows so far as a batch and starts a new one.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays = self
            .columns
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect::<Result<Vec<_>>>()?;
        self.rows = 0;
        self.bytes = 0;
        Ok(RecordBatch::try_new(self.spec.schema(), arrays)?)
    }
}

/// An event id derived from a row's content, for rows whose source gave none:
/// `<prefix>:<table>:<hash>`. The same content always gives the same id, so a
/// re-imported file changes nothing.
pub fn content_event_id(prefix: &str, table: &str, values: &[Value]) -> String {
    let mut hasher = Sha256::new();
    for value in values {
        match value {
            Value::Null => hasher.update([0u8]),
            Value::Text(s) => {
                hasher.update([1u8]);
                hasher.update((s.len() as u64).to_le_bytes());
                hasher.update(s.as_bytes());
            }
            Value::Integer(v) => {
                hasher.update([2u8]);
                hasher.update(v.to_le_bytes());
            }
            Value::Float(v) => {
                hasher.update([3u8]);
                hasher.update(v.to_bits().to_le_bytes());
            }
            Value::Timestamp(v) => {
                hasher.update([4u8]);
                hasher.update(v.to_le_bytes());
            }
            Value::TextList(items) => {
                hasher.update([5u8]);
                hasher.update((items.len() as u64).to_le_bytes());
                for item in items {
                    hasher.update((item.len() as u64).to_le_bytes());
                    hasher.update(item.as_bytes());
                }
            }
            Value::Money(v) => {
                hasher.update([6u8]);
                hasher.update(v.to_le_bytes());
            }
            Value::Date(v) => {
                hasher.update([7u8]);
                hasher.update(v.to_le_bytes());
            }
        }
    }
    let digest = hasher.finalize();
    format!("{prefix}:{table}:{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{COMMITS, TEAMS};

    #[test]
    fn builds_a_batch_with_lists_and_utc_timestamps() {
        let mut b = TableBuilder::new(&COMMITS);
        b.push(vec![
            Value::text("e1"),
            Value::text("acme/api"),
            Value::text("abc"),
            Value::TextList(vec!["p1".into(), "p2".into()]),
            Value::text("dev_0000000000000001"),
            Value::Timestamp(1_000_000),
            Value::Null,
            Value::text("Fix it"),
            Value::Null,
            Value::Null,
        ])
        .unwrap();
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.schema(), COMMITS.schema());
        assert!(b.is_empty());
    }

    #[test]
    fn rejects_null_in_required_column_and_wrong_kinds() {
        let mut b = TableBuilder::new(&TEAMS);
        let err = b
            .push(vec![
                Value::text("e"),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ])
            .unwrap_err();
        assert!(err.to_string().contains("teams.team"), "{err}");
        let err = b
            .push(vec![
                Value::text("e"),
                Value::Integer(3),
                Value::Null,
                Value::Null,
                Value::Null,
            ])
            .unwrap_err();
        assert!(err.to_string().contains("teams.team"), "{err}");
        assert!(b.push(vec![Value::text("e")]).is_err());
    }

    #[test]
    fn content_ids_are_stable_and_sensitive() {
        let a = content_event_id("import", "teams", &[Value::text("a"), Value::Null]);
        let b = content_event_id("import", "teams", &[Value::text("a"), Value::Null]);
        let c = content_event_id("import", "teams", &[Value::Null, Value::text("a")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("import:teams:"));
    }
}
