//! A FOCUS export's rows as text records, whether it is CSV or Parquet, read
//! a batch at a time: the header (column names) and, per row, its cells and
//! where it is (a CSV line, or a Parquet row counted from 2 so that "line"
//! means the same in errors), and how far through the file the reader is.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{Error, Result};

/// Rows of a Parquet file read at a time.
const PARQUET_BATCH: usize = 8_192;

pub(super) enum Records {
    Csv(csv::Reader<File>),
    Parquet {
        reader: ParquetRecordBatchReader,
        columns: Vec<ArrayRef>,
        row: usize,
        read: u64,
    },
}

fn invalid(file: &str, message: impl std::fmt::Display) -> Error {
    Error::InvalidFile {
        file: file.to_string(),
        message: message.to_string(),
    }
}

impl Records {
    /// Opens `path` by its extension (`.parquet`, else CSV), with its header
    /// and size (bytes for CSV, rows for Parquet).
    pub(super) fn open(path: &Path, file: &str) -> Result<(Records, csv::StringRecord, u64)> {
        let is_parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if !is_parquet {
            let size = std::fs::metadata(path)
                .map_err(|source| Error::ReadInput {
                    path: path.to_path_buf(),
                    source,
                })?
                .len();
            let mut reader = csv::Reader::from_path(path).map_err(|e| invalid(file, e))?;
            let header = reader.headers().map_err(|e| invalid(file, e))?.clone();
            return Ok((Records::Csv(reader), header, size));
        }
        let handle = File::open(path).map_err(|source| Error::ReadInput {
            path: path.to_path_buf(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
            .map_err(|e| invalid(file, format!("not a Parquet file: {e}")))?;
        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let header: csv::StringRecord = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let reader = builder
            .with_batch_size(PARQUET_BATCH)
            .build()
            .map_err(|e| invalid(file, e))?;
        Ok((
            Records::Parquet {
                reader,
                columns: Vec::new(),
                row: 0,
                read: 0,
            },
            header,
            rows,
        ))
    }

    /// Reads the next row into `record`; false at the end.
    pub(super) fn next(&mut self, record: &mut csv::StringRecord, file: &str) -> Result<bool> {
        match self {
            Records::Csv(reader) => reader.read_record(record).map_err(|e| invalid(file, e)),
            Records::Parquet {
                reader,
                columns,
                row,
                read,
            } => {
                while columns.first().is_none_or(|c| *row >= c.len()) {
                    let Some(batch) = reader.next() else {
                        return Ok(false);
                    };
                    let batch = batch.map_err(|e| invalid(file, e))?;
                    *columns = batch
                        .columns()
                        .iter()
                        .zip(batch.schema().fields())
                        .map(|(column, field)| {
                            arrow::compute::cast(column, &DataType::Utf8).map_err(|e| {
                                invalid(
                                    file,
                                    format!(
                                        "column {}: its type {} cannot be read as text ({e}); export it as text",
                                        field.name(),
                                        field.data_type()
                                    ),
                                )
                            })
                        })
                        .collect::<Result<_>>()?;
                    *row = 0;
                }
                record.clear();
                for column in columns.iter() {
                    let text = column.as_string::<i32>();
                    record.push_field(if text.is_null(*row) {
                        ""
                    } else {
                        text.value(*row)
                    });
                }
                *row += 1;
                *read += 1;
                Ok(true)
            }
        }
    }

    /// Where the last row read is: a CSV line, or a Parquet row counted
    /// from 2 (as if its header were line 1).
    pub(super) fn line(&self, record: &csv::StringRecord) -> u64 {
        match self {
            Records::Csv(_) => record.position().map_or(0, |p| p.line()),
            Records::Parquet { read, .. } => read + 1,
        }
    }

    /// How far through the file the reader is, in the unit of its size.
    pub(super) fn done(&self) -> u64 {
        match self {
            Records::Csv(reader) => reader.position().byte(),
            Records::Parquet { read, .. } => *read,
        }
    }

    /// The unit of [`Records::done`] and of the size.
    pub(super) fn unit(&self) -> &'static str {
        match self {
            Records::Csv(_) => crate::progress::BYTES,
            Records::Parquet { .. } => "rows",
        }
    }
}
