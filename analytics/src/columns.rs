//! Reading query results column by column, whatever physical type DataFusion
//! chose (Utf8 or Utf8View, Int32 or Int64, ...): every column is cast to the
//! type the caller asks for.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use crate::error::{Error, Result};

/// The rows of one result, read by column name.
pub struct Columns<'a> {
    batches: &'a [RecordBatch],
}

impl<'a> Columns<'a> {
    pub fn new(batches: &'a [RecordBatch]) -> Self {
        Columns { batches }
    }

    pub fn len(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn cast_column(
        &self,
        name: &str,
        to: &DataType,
    ) -> Result<Vec<arrow::array::ArrayRef>> {
        self.batches
            .iter()
            .map(|batch| {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| Error::Internal(format!("result has no column `{name}`")))?;
                cast(column, to).map_err(|e| Error::Internal(format!("column `{name}`: {e}")))
            })
            .collect()
    }

    pub fn text(&self, name: &str) -> Result<Vec<Option<String>>> {
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &DataType::Utf8)? {
            let strings = array.as_string::<i32>();
            out.extend(
                (0..strings.len())
                    .map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_string())),
            );
        }
        Ok(out)
    }

    /// A money column as integers scaled by 10^`MONEY_SCALE` (exact, as
    /// the lake keeps it).
    pub fn money(&self, name: &str) -> Result<Vec<Option<i128>>> {
        let money =
            DataType::Decimal128(ingest::schema::MONEY_PRECISION, ingest::schema::MONEY_SCALE);
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &money)? {
            let values = array.as_primitive::<arrow::datatypes::Decimal128Type>();
            out.extend((0..values.len()).map(|i| (!values.is_null(i)).then(|| values.value(i))));
        }
        Ok(out)
    }

    /// Two text columns as pairs, rows with a null in either left out
    /// (e.g. a catalog's repo -> service map).
    pub fn text_pairs(&self, key: &str, value: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .text(key)?
            .into_iter()
            .zip(self.text(value)?)
            .filter_map(|(k, v)| Some((k?, v?)))
            .collect())
    }

    pub fn int(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &DataType::Int64)? {
            out.extend(array.as_primitive::<Int64Type>().iter());
        }
        Ok(out)
    }

    pub fn float(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &DataType::Float64)? {
            out.extend(array.as_primitive::<Float64Type>().iter());
        }
        Ok(out)
    }

    pub fn boolean(&self, name: &str) -> Result<Vec<Option<bool>>> {
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &DataType::Boolean)? {
            out.extend(array.as_boolean().iter());
        }
        Ok(out)
    }

    /// Timestamps as microseconds since the epoch (UTC, or local wall time for
    /// columns made with `to_local_time`).
    pub fn micros(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let mut out = Vec::with_capacity(self.len());
        for batch in self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::Internal(format!("result has no column `{name}`")))?;
            let as_micros = match column.data_type() {
                DataType::Timestamp(_, _) => cast(
                    &cast(
                        column,
                        &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                    )
                    .map_err(|e| Error::Internal(format!("column `{name}`: {e}")))?,
                    &DataType::Int64,
                ),
                DataType::Null => cast(column, &DataType::Int64),
                other => {
                    return Err(Error::Internal(format!(
                        "column `{name}` is {other}, not a timestamp"
                    )))
                }
            }
            .map_err(|e| Error::Internal(format!("column `{name}`: {e}")))?;
            out.extend(as_micros.as_primitive::<Int64Type>().iter());
        }
        Ok(out)
    }

    /// A date column (Date32) as calendar days.
    pub fn dates(&self, name: &str) -> Result<Vec<Option<chrono::NaiveDate>>> {
        let mut out = Vec::with_capacity(self.len());
        for array in self.cast_column(name, &DataType::Date32)? {
            let days = array.as_primitive::<arrow::datatypes::Date32Type>();
            out.extend(days.iter().map(|d| {
                d.and_then(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163))
            }));
        }
        Ok(out)
    }

    /// A list-of-text column.
    pub fn text_lists(&self, name: &str) -> Result<Vec<Option<Vec<String>>>> {
        let mut out = Vec::with_capacity(self.len());
        let list_type = DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item",
            DataType::Utf8,
            true,
        )));
        for array in self.cast_column(name, &list_type)? {
            let lists = array.as_list::<i32>();
            for i in 0..lists.len() {
                if lists.is_null(i) {
                    out.push(None);
                    continue;
                }
                let values = lists.value(i);
                let strings = values.as_string::<i32>();
                out.push(Some(strings.iter().flatten().map(str::to_string).collect()));
            }
        }
        Ok(out)
    }
}
