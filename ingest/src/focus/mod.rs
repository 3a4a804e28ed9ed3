//! FOCUS billing exports (FinOps Open Cost and Usage Specification 1.0 to
//! 1.3, CSV or Parquet) to `costs` rows, streamed: a file of millions of rows
//! is read twice (the currencies first, then the rows, in batches), never
//! held.
//!
//! * Columns go by FOCUS's names; `x_` columns and any other column are
//!   ignored. `NULL` or an empty cell is null.
//! * Money is parsed as a decimal (`rust_decimal`), never a float, and kept
//!   at the lake's scale ([`crate::schema::MONEY_SCALE`] digits), rounding
//!   half to even.
//! * One file has one billing currency. A second one is an error naming its
//!   line and column, unless rates (currency, month, rate to the target
//!   currency) convert each row; a converted row keeps its source currency
//!   and rate.
//! * A row's id is a hash of its cells and how many identical rows came
//!   before it in the file: a re-import (or an overlapping export) adds
//!   nothing, and two identical lines of one bill both count.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::canonical::{Cost, Micros, ScaledMoney};
use crate::error::{Error, Result};
use crate::lake::{AppendSummary, Lake};
use crate::progress::{Progress, ProgressEvent};
use crate::rows::TableBuilder;
use crate::schema::COSTS;

mod records;
use records::Records;

/// Rows written to the lake at a time.
const BATCH_ROWS: usize = 50_000;

/// Exchange rates to one target currency, per source currency and month.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    pub target: String,
    /// (currency, `YYYY-MM`) -> rate.
    rates: HashMap<(String, String), Decimal>,
}

impl Rates {
    /// Reads a CSV of `currency,month,rate` (month `YYYY-MM`, the rate that
    /// turns one unit of the currency into `target`).
    pub fn read(path: &Path, target: &str) -> Result<Rates> {
        let file = path.display().to_string();
        let mut reader = csv::Reader::from_path(path).map_err(|e| invalid(&file, e))?;
        let mut rates = Rates {
            target: target.to_string(),
            rates: HashMap::new(),
        };
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| invalid(&file, e))?;
            let cell = |k: usize| record.get(k).unwrap_or("").trim().to_string();
            let (currency, month, rate) = (cell(0).to_uppercase(), cell(1), cell(2));
            if chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
                return Err(invalid(
                    &file,
                    format!("line {line}: month `{month}` is not YYYY-MM"),
                ));
            }
            let rate = parse_decimal(&rate).ok_or_else(|| {
                invalid(
                    &file,
                    format!("line {line}: rate `{rate}` is not a decimal number"),
                )
            })?;
            rates.rates.insert((currency, month), rate);
        }
        Ok(rates)
    }

    fn rate(&self, currency: &str, month: &str) -> Option<Decimal> {
        if currency == self.target {
            return Some(Decimal::ONE);
        }
        self.rates
            .get(&(currency.to_string(), month.to_string()))
            .copied()
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct FocusSummary {
    pub rows_read: u64,
    pub converted: u64,
    pub stored: AppendSummary,
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct FocusOptions {
    /// Converts rows in other currencies; without it a file must have one.
    pub rates: Option<Rates>,
}

/// The FOCUS columns devex reads, by position in a file's header.
struct Columns {
    billed: usize,
    effective: Option<usize>,
    list: Option<usize>,
    currency: usize,
    start: usize,
    end: usize,
    category: Option<usize>,
    provider: Option<usize>,
    service: Option<usize>,
    resource_id: Option<usize>,
    resource_name: Option<usize>,
    sub_account: Option<usize>,
    tags: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord, file: &str) -> Result<Columns> {
        let position = |name: &str| header.iter().position(|h| h.trim() == name);
        let required = |name: &str| {
            position(name).ok_or_else(|| {
                invalid(
                    file,
                    format!("the FOCUS column `{name}` is missing from the header; is this a FOCUS 1.0-1.3 export?"),
                )
            })
        };
        Ok(Columns {
            billed: required("BilledCost")?,
            effective: position("EffectiveCost"),
            list: position("ListCost"),
            currency: required("BillingCurrency")?,
            start: required("ChargePeriodStart")?,
            end: required("ChargePeriodEnd")?,
            category: position("ChargeCategory"),
            provider: position("ProviderName").or_else(|| position("ServiceProviderName")),
            service: position("ServiceName"),
            resource_id: position("ResourceId"),
            resource_name: position("ResourceName"),
            sub_account: position("SubAccountName"),
            tags: position("Tags"),
        })
    }
}

fn invalid(file: &str, message: impl std::fmt::Display) -> Error {
    Error::InvalidFile {
        file: file.to_string(),
        message: message.to_string(),
    }
}

/// A cell, or `None` for `NULL` and empty cells.
fn cell(record: &csv::StringRecord, column: Option<usize>) -> Option<&str> {
    let value = record.get(column?)?.trim();
    (!value.is_empty() && value != "NULL").then_some(value)
}

fn parse_decimal(raw: &str) -> Option<Decimal> {
    Decimal::from_str(raw)
        .or_else(|_| Decimal::from_scientific(raw))
        .ok()
}

/// A decimal at the lake's money scale, half to even.
fn scaled(value: Decimal) -> Option<i128> {
    ScaledMoney::from_decimal(value).map(|money| money.0)
}

/// FOCUS times: ISO 8601 with a zone, or without one (UTC, as FOCUS
/// requires), with `T` or a space.
fn parse_time(raw: &str) -> Option<i64> {
    if let Some(t) = crate::sources::json::parse_time(raw) {
        return Some(t);
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(raw, format).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

fn month_of(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m").to_string())
        .unwrap_or_default()
}

/// Reads `path` into the lake's `costs` table.
pub async fn import(
    lake: &Lake,
    path: &Path,
    options: &FocusOptions,
    progress: &dyn Progress,
) -> Result<FocusSummary> {
    let mut batches = CostBatches::open(path, options)?;
    let mut stored = AppendSummary::default();
    while let Some(batch) = batches.next_batch()? {
        stored.add(&lake.append(&COSTS, &batch).await?);
        progress.event(ProgressEvent::Advanced {
            scope: &batches.file,
            resource: "costs",
            done: batches.reader.done(),
            total: Some(batches.size),
            unit: batches.reader.unit(),
        });
    }
    progress.event(ProgressEvent::Advanced {
        scope: &batches.file,
        resource: "costs",
        done: batches.size,
        total: Some(batches.size),
        unit: batches.reader.unit(),
    });
    Ok(FocusSummary {
        rows_read: batches.rows_read,
        converted: batches.converted,
        stored,
    })
}

/// A checked FOCUS file read as `costs` batches of up to [`BATCH_ROWS`]
/// rows; storing them is the caller's.
pub struct CostBatches<'a> {
    file: String,
    options: &'a FocusOptions,
    reader: Records,
    columns: Columns,
    size: u64,
    /// How many times each row's cells came before (for the ids).
    seen: HashMap<[u8; 16], u32>,
    record: csv::StringRecord,
    pub rows_read: u64,
    pub converted: u64,
}

impl<'a> CostBatches<'a> {
    /// Checks the file's currencies (the first pass) and opens it for the
    /// second.
    pub fn open(path: &Path, options: &'a FocusOptions) -> Result<CostBatches<'a>> {
        let file = path.display().to_string();
        check_currencies(path, &file, options)?;
        let (reader, header, size) = Records::open(path, &file)?;
        let columns = Columns::find(&header, &file)?;
        Ok(CostBatches {
            file,
            options,
            reader,
            columns,
            size,
            seen: HashMap::new(),
            record: csv::StringRecord::new(),
            rows_read: 0,
            converted: 0,
        })
    }

    /// The next batch, or `None` at the end of the file; an error names the
    /// line and column.
    pub fn next_batch(&mut self) -> Result<Option<arrow::record_batch::RecordBatch>> {
        let mut builder = TableBuilder::new(&COSTS);
        while builder.len() < BATCH_ROWS && self.reader.next(&mut self.record, &self.file)? {
            let line = self.reader.line(&self.record);
            let id = {
                let mut hash = Sha256::new();
                for value in self.record.iter() {
                    hash.update(value.as_bytes());
                    hash.update([0x1f]);
                }
                let digest: [u8; 16] = hash.finalize()[..16].try_into().unwrap_or_default();
                let occurrence = self.seen.entry(digest).or_insert(0);
                *occurrence += 1;
                format!("focus:{}:{occurrence}", hex::encode(digest))
            };
            let cost = row(&self.record, &self.columns, id, self.options)
                .map_err(|message| invalid(&self.file, format!("line {line}, {message}")))?;
            if cost.source_currency.is_some() {
                self.converted += 1;
            }
            builder.push(crate::canonical::Row::from(cost).1)?;
            self.rows_read += 1;
        }
        if builder.is_empty() {
            return Ok(None);
        }
        Ok(Some(builder.finish()?))
    }
}

/// The first pass: one billing currency per file, or a rate for each row's
/// currency and month.
fn check_currencies(path: &Path, file: &str, options: &FocusOptions) -> Result<()> {
    let (mut reader, header, _) = Records::open(path, file)?;
    let columns = Columns::find(&header, file)?;
    let mut first: Option<(String, u64)> = None;
    let mut record = csv::StringRecord::new();
    while reader.next(&mut record, file)? {
        let line = reader.line(&record);
        let currency = cell(&record, Some(columns.currency))
            .unwrap_or("")
            .to_uppercase();
        if let Some(rates) = &options.rates {
            let start = cell(&record, Some(columns.start)).and_then(parse_time);
            let month = start.map(month_of).unwrap_or_default();
            if rates.rate(&currency, &month).is_none() {
                return Err(invalid(
                    file,
                    format!(
                        "line {line}, column BillingCurrency: no rate from {currency} to {} for {month} in --rates",
                        rates.target
                    ),
                ));
            }
            continue;
        }
        match &first {
            None => first = Some((currency, line)),
            Some((seen, seen_line)) if *seen != currency => {
                return Err(invalid(
                    file,
                    format!(
                        "line {line}, column BillingCurrency: `{currency}`, but line {seen_line} is `{seen}`; a FOCUS file must have one billing currency. Pass --rates FILE (currency,month,rate) to convert to [cost] currency"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// One record as a cost row; the error names the column.
fn row(
    record: &csv::StringRecord,
    columns: &Columns,
    event_id: String,
    options: &FocusOptions,
) -> std::result::Result<Cost, String> {
    let text = |column: Option<usize>| cell(record, column).map(str::to_string);
    let time = |column: usize, name: &str| {
        let raw = cell(record, Some(column)).ok_or(format!("column {name}: missing"))?;
        parse_time(raw).ok_or(format!("column {name}: `{raw}` is not an ISO 8601 time"))
    };
    let money =
        |column: Option<usize>, name: &str| -> std::result::Result<Option<Decimal>, String> {
            match cell(record, column) {
                None => Ok(None),
                Some(raw) => parse_decimal(raw)
                    .map(Some)
                    .ok_or(format!("column {name}: `{raw}` is not a decimal number")),
            }
        };
    let start = time(columns.start, "ChargePeriodStart")?;
    let end = time(columns.end, "ChargePeriodEnd")?;
    let currency = text(Some(columns.currency))
        .ok_or("column BillingCurrency: missing")?
        .to_uppercase();
    let billed = money(Some(columns.billed), "BilledCost")?.ok_or("column BilledCost: missing")?;
    let effective = money(columns.effective, "EffectiveCost")?;
    let list = money(columns.list, "ListCost")?;
    let rate = match &options.rates {
        Some(rates) if currency != rates.target => rates.rate(&currency, &month_of(start)),
        _ => None,
    };
    let convert = |amount: Decimal| -> std::result::Result<ScaledMoney, String> {
        let amount = rate.map_or(amount, |rate| amount * rate);
        scaled(amount)
            .map(ScaledMoney)
            .ok_or(format!("`{amount}` is out of range"))
    };
    let tags = match cell(record, columns.tags) {
        None => None,
        Some(raw) => {
            // Keys sorted, so equal tags are equal text.
            let object: std::collections::BTreeMap<String, serde_json::Value> =
                serde_json::from_str(raw)
                    .map_err(|e| format!("column Tags: not a JSON object ({e})"))?;
            Some(serde_json::to_string(&object).map_err(|e| format!("column Tags: {e}"))?)
        }
    };
    Ok(Cost {
        event_id,
        charge_period_start: Micros(start),
        charge_period_end: Micros(end),
        billed_cost: convert(billed)?,
        effective_cost: effective.map(convert).transpose()?,
        list_cost: list.map(convert).transpose()?,
        billing_currency: match (&options.rates, rate) {
            (Some(rates), Some(_)) => rates.target.clone(),
            _ => currency.clone(),
        },
        charge_category: text(columns.category),
        provider_name: text(columns.provider),
        service_name: text(columns.service),
        resource_id: text(columns.resource_id),
        resource_name: text(columns.resource_name),
        sub_account_name: text(columns.sub_account),
        tags,
        source_currency: rate.map(|_| currency.clone()),
        exchange_rate: match rate {
            Some(rate) => Some(ScaledMoney(scaled(rate).ok_or("rate out of range")?)),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn money_is_decimal_at_the_lake_scale() {
        assert_eq!(scaled(parse_decimal("0.00000080000").unwrap()), Some(8_000));
        assert_eq!(
            scaled(parse_decimal("-12.345").unwrap()),
            Some(-123_450_000_000)
        );
        assert_eq!(scaled(parse_decimal("1.2E-5").unwrap()), Some(120_000));
        // Half to even at the 10th decimal.
        assert_eq!(scaled(parse_decimal("0.00000000005").unwrap()), Some(0));
        assert_eq!(scaled(parse_decimal("0.00000000015").unwrap()), Some(2));
        assert_eq!(parse_decimal("12,5"), None);
    }

    /// A FOCUS export as Parquet, with the types exporters use: decimals,
    /// a double, timestamps, text and a null.
    fn parquet_bill(path: &Path) {
        use arrow::array::{Decimal128Array, Float64Array, StringArray, TimestampMicrosecondArray};
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("BilledCost", DataType::Decimal128(20, 6), false),
            Field::new("EffectiveCost", DataType::Float64, true),
            Field::new("BillingCurrency", DataType::Utf8, false),
            Field::new(
                "ChargePeriodStart",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new(
                "ChargePeriodEnd",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("Tags", DataType::Utf8, true),
            Field::new("x_Internal", DataType::Utf8, true),
        ]));
        let day = 86_400_000_000i64;
        let start = 1_725_148_800_000_000i64; // 2024-09-01T00:00:00Z
        let batch = arrow::array::RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(
                    Decimal128Array::from(vec![12_345_678i128, -2_500_000])
                        .with_precision_and_scale(20, 6)
                        .unwrap(),
                ),
                std::sync::Arc::new(Float64Array::from(vec![Some(10.5), None])),
                std::sync::Arc::new(StringArray::from(vec!["USD", "USD"])),
                std::sync::Arc::new(
                    TimestampMicrosecondArray::from(vec![start, start + day]).with_timezone("UTC"),
                ),
                std::sync::Arc::new(TimestampMicrosecondArray::from(vec![
                    start + day,
                    start + 2 * day,
                ])),
                std::sync::Arc::new(StringArray::from(vec![
                    Some(r#"{"team":"a","app":"x"}"#),
                    None,
                ])),
                std::sync::Arc::new(StringArray::from(vec![Some("ignored"), None])),
            ],
        )
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            schema,
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn a_parquet_export_imports_like_csv() {
        let dir = tempfile::tempdir().unwrap();
        let bill = dir.path().join("bill.parquet");
        parquet_bill(&bill);
        let lake = Lake::create_or_open(dir.path().join("lake")).unwrap();
        let options = FocusOptions::default();
        let none = crate::progress::NoProgress;
        let summary = import(&lake, &bill, &options, &none).await.unwrap();
        assert_eq!((summary.rows_read, summary.stored.rows_written), (2, 2));
        let again = import(&lake, &bill, &options, &none).await.unwrap();
        assert_eq!(again.stored.duplicates, 2);
        // Decimals, doubles and timestamps read as FOCUS values.
        let mut costs = Vec::new();
        let mut files = Vec::new();
        let mut folders = vec![dir.path().join("lake").join("costs")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                match path.extension() {
                    None => folders.push(path),
                    Some(e) if e == "parquet" => files.push(path),
                    Some(_) => {}
                }
            }
        }
        let batches = files.into_iter().flat_map(|path| {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(path).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
        });
        for batch in batches {
            let billed = batch.column_by_name("billed_cost").unwrap();
            let effective = batch.column_by_name("effective_cost").unwrap();
            let tags = batch.column_by_name("tags").unwrap();
            let billed = billed.as_primitive::<arrow::datatypes::Decimal128Type>();
            let effective = effective.as_primitive::<arrow::datatypes::Decimal128Type>();
            let tags = arrow::compute::cast(tags, &arrow::datatypes::DataType::Utf8).unwrap();
            let tags = tags.as_string::<i32>();
            for i in 0..batch.num_rows() {
                costs.push((
                    billed.value(i),
                    effective.is_valid(i).then(|| effective.value(i)),
                    tags.is_valid(i).then(|| tags.value(i).to_string()),
                ));
            }
        }
        costs.sort();
        assert_eq!(
            costs,
            vec![
                (-25_000_000_000, None, None),
                (
                    123_456_780_000,
                    Some(105_000_000_000),
                    Some(r#"{"app":"x","team":"a"}"#.into())
                ),
            ]
        );
    }

    #[test]
    fn times_with_and_without_zone() {
        let utc = parse_time("2024-09-18T22:00:00Z").unwrap();
        assert_eq!(parse_time("2024-09-18 22:00:00"), Some(utc));
        assert_eq!(parse_time("2024-09-18T22:00:00"), Some(utc));
        assert_eq!(month_of(utc), "2024-09");
    }
}
