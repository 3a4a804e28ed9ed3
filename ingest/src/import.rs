//! Import of JSON Lines or CSV rows of any canonical table.
//!
//! A file is parsed and validated whole before anything is written: one invalid
//! value rejects the file, with errors naming the file, line and field, and the
//! lake stays as it was. Person columns are pseudonymised on the way in.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result, RowError};
use crate::identity::Pseudonymizer;
use crate::lake::{AppendSummary, Lake};
use crate::progress::{Progress, ProgressReader};
use crate::rows::{content_event_id, TableBuilder, Value};
use crate::schema::{Column, ColumnKind, TableSpec, MONEY_PRECISION, MONEY_SCALE};
use crate::vocabulary::{self, Vocabulary};

/// At most this many errors are listed; the rest are counted.
const MAX_LISTED_ERRORS: usize = 20;
const ROWS_PER_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    Csv,
}

impl InputFormat {
    /// The format named by a file's extension (`.jsonl`, `.ndjson`, `.json`, `.csv`).
    pub fn from_path(path: &Path) -> Option<InputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            "csv" => Some(InputFormat::Csv),
            _ => None,
        }
    }
}

impl std::str::FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "jsonl" => Ok(InputFormat::Jsonl),
            "csv" => Ok(InputFormat::Csv),
            other => Err(format!("unknown format '{other}'; use jsonl or csv")),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub table: &'static str,
    pub rows_read: usize,
    pub stored: AppendSummary,
}

/// Parses, validates and stores a file of rows of `table`.
pub async fn import_file(
    lake: &Lake,
    table: &'static TableSpec,
    path: &Path,
    format: Option<InputFormat>,
    pseudonymizer: &Pseudonymizer,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    let batch = parse_file(table, path, format, pseudonymizer, progress)?;
    let stored = lake.append(table, &batch).await?;
    Ok(ImportReport {
        table: table.name,
        rows_read: batch.num_rows(),
        stored,
    })
}

/// Parses and validates a whole file into one batch of canonical rows.
pub fn parse_file(
    table: &'static TableSpec,
    path: &Path,
    format: Option<InputFormat>,
    pseudonymizer: &Pseudonymizer,
    progress: &dyn Progress,
) -> Result<RecordBatch> {
    let display = path.display().to_string();
    let format = match format.or_else(|| InputFormat::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(Error::InvalidFile {
                file: display,
                message: "cannot tell the format from the extension; name it .jsonl or .csv, or pass --format jsonl|csv".into(),
            })
        }
    };
    let file = File::open(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    let reader = BufReader::new(ProgressReader::new(file, &display, size, progress));
    let mut parser = RowParser::new(table, display.clone(), pseudonymizer);
    match format {
        InputFormat::Jsonl => parser.read_jsonl(reader)?,
        InputFormat::Csv => parser.read_csv(reader)?,
    }
    parser.finish()
}

struct RowParser<'a> {
    table: &'static TableSpec,
    file: String,
    pseudonymizer: &'a Pseudonymizer,
    builder: TableBuilder,
    /// Each column's closed set, when it has one.
    vocabularies: Vec<Option<&'static Vocabulary>>,
    chunks: Vec<RecordBatch>,
    errors: Vec<RowError>,
    more_errors: usize,
}

impl<'a> RowParser<'a> {
    fn new(table: &'static TableSpec, file: String, pseudonymizer: &'a Pseudonymizer) -> Self {
        RowParser {
            table,
            file,
            pseudonymizer,
            builder: TableBuilder::new(table),
            vocabularies: table
                .columns
                .iter()
                .map(|c| vocabulary::of(table.name, c.name))
                .collect(),
            chunks: Vec::new(),
            errors: Vec::new(),
            more_errors: 0,
        }
    }

    fn error(&mut self, line: u64, field: &str, message: String) {
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(RowError {
                line,
                field: field.to_string(),
                message,
            });
        } else {
            self.more_errors += 1;
        }
    }

    fn read_error(&self, source: std::io::Error) -> Error {
        Error::ReadInput {
            path: self.file.clone().into(),
            source,
        }
    }

    fn read_jsonl(&mut self, reader: impl BufRead) -> Result<()> {
        for (index, line) in reader.lines().enumerate() {
            let line_number = index as u64 + 1;
            let line = line.map_err(|e| self.read_error(e))?;
            let text = line.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            let object = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => {
                    self.error(line_number, "-", "not a JSON object".into());
                    continue;
                }
                Err(e) => {
                    self.error(line_number, "-", format!("not valid JSON ({e})"));
                    continue;
                }
            };
            let mut cells: Vec<Option<Result<Value, String>>> =
                vec![None; self.table.columns.len()];
            let mut row_ok = true;
            for (key, value) in &object {
                match self.table.column(key) {
                    Some((i, column)) => cells[i] = Some(parse_json(column, value)),
                    None => {
                        let message = self.unknown_column_message();
                        self.error(line_number, key, message);
                        row_ok = false;
                    }
                }
            }
            self.finish_row(line_number, cells, row_ok)?;
        }
        Ok(())
    }

    fn read_csv(&mut self, reader: impl Read) -> Result<()> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv.headers().map_err(|e| self.csv_error(e))?.clone();
        let mut columns = Vec::with_capacity(headers.len());
        let mut header_ok = true;
        for (position, header) in headers.iter().enumerate() {
            let name = header.trim_start_matches('\u{feff}').trim();
            match self.table.column(name) {
                Some((i, _)) if columns.contains(&i) => {
                    self.error(1, name, "column appears twice in the header".into());
                    header_ok = false;
                }
                Some((i, _)) => columns.push(i),
                None => {
                    let message = self.unknown_column_message();
                    self.error(
                        1,
                        if name.is_empty() { "-" } else { name },
                        format!("{message} (header column {})", position + 1),
                    );
                    header_ok = false;
                }
            }
        }
        for column in self.table.columns {
            let present = columns
                .iter()
                .any(|&i| self.table.columns[i].name == column.name);
            if !present && !column.nullable && column.name != "event_id" {
                self.error(
                    1,
                    column.name,
                    "required column is missing from the header".into(),
                );
                header_ok = false;
            }
        }
        if !header_ok {
            return Ok(());
        }
        let mut record = csv::StringRecord::new();
        loop {
            match csv.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    self.error(line, "-", format!("not a valid CSV record ({e})"));
                    break;
                }
            }
            let line_number = record.position().map_or(0, |p| p.line());
            let mut cells: Vec<Option<Result<Value, String>>> =
                vec![None; self.table.columns.len()];
            for (&i, raw) in columns.iter().zip(record.iter()) {
                let column = &self.table.columns[i];
                cells[i] = Some(if raw.is_empty() {
                    Ok(Value::Null)
                } else {
                    parse_text(column, raw)
                });
            }
            self.finish_row(line_number, cells, true)?;
        }
        Ok(())
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        Error::InvalidFile {
            file: self.file.clone(),
            message: format!("not a valid CSV file ({e})"),
        }
    }

    fn unknown_column_message(&self) -> String {
        format!(
            "unknown column of table {}; its columns are {}",
            self.table.name,
            self.table.column_names().join(", ")
        )
    }

    /// Checks required values, pseudonymises person columns, derives a
    /// missing event id and appends the row.
    fn finish_row(
        &mut self,
        line: u64,
        cells: Vec<Option<Result<Value, String>>>,
        mut row_ok: bool,
    ) -> Result<()> {
        let mut values = Vec::with_capacity(cells.len());
        for (index, (cell, column)) in cells.into_iter().zip(self.table.columns).enumerate() {
            let value = match cell {
                Some(Ok(Value::Text(word))) if self.vocabularies[index].is_some() => {
                    match self.vocabularies[index].map(|v| v.normalise(&word)) {
                        Some(Ok(word)) => Value::text(word),
                        Some(Err(message)) => {
                            self.error(line, column.name, message);
                            row_ok = false;
                            // Not also "missing": the row is refused anyway.
                            Value::Text(word)
                        }
                        None => Value::Text(word),
                    }
                }
                Some(Ok(v)) => v,
                Some(Err(message)) => {
                    self.error(line, column.name, message);
                    row_ok = false;
                    Value::Null
                }
                None => Value::Null,
            };
            if value == Value::Null && !column.nullable && column.name != "event_id" {
                self.error(line, column.name, "is required but missing".into());
                row_ok = false;
            }
            values.push(match value {
                Value::Text(s) if column.person => Value::Text(self.pseudonymizer.pseudonym(&s)),
                other => other,
            });
        }
        if !row_ok || !self.errors.is_empty() {
            // Once the file is known to be rejected, stop building rows.
            return Ok(());
        }
        if values[0] == Value::Null {
            values[0] = Value::Text(content_event_id("import", self.table.name, &values[1..]));
        }
        self.builder.push(values)?;
        if self.builder.len() >= ROWS_PER_CHUNK {
            self.chunks.push(self.builder.finish()?);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<RecordBatch> {
        if !self.errors.is_empty() {
            return Err(Error::InvalidRows {
                file: self.file,
                errors: self.errors,
                more: self.more_errors,
            });
        }
        self.chunks.push(self.builder.finish()?);
        Ok(concat_batches(&self.table.schema(), &self.chunks)?)
    }
}

fn quote(raw: &str) -> String {
    serde_json::Value::String(raw.to_string()).to_string()
}

/// Parses a CSV cell (text) into a value of the column's kind.
fn parse_text(column: &Column, raw: &str) -> Result<Value, String> {
    match column.kind {
        ColumnKind::Text => Ok(Value::Text(raw.to_string())),
        ColumnKind::Integer => raw
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("{} is not an integer", quote(raw))),
        ColumnKind::Float => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Value::Float)
            .ok_or_else(|| format!("{} is not a number", quote(raw))),
        ColumnKind::Timestamp => parse_timestamp(raw),
        ColumnKind::TextList => match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v) => parse_json(column, &v),
            Err(_) => Err(format!("{} is not a JSON array of strings", quote(raw))),
        },
        ColumnKind::Money => parse_money(raw),
        ColumnKind::Date => parse_date(raw),
    }
}

/// Parses a JSON value into a value of the column's kind.
fn parse_json(column: &Column, value: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    match (column.kind, value) {
        (_, J::Null) => Ok(Value::Null),
        (ColumnKind::Text, J::String(s)) => Ok(Value::Text(s.clone())),
        (ColumnKind::Text, J::Number(n)) => Ok(Value::Text(n.to_string())),
        (ColumnKind::Integer, J::Number(n)) => n
            .as_i64()
            .map(Value::Integer)
            .ok_or_else(|| format!("{n} is not an integer")),
        (ColumnKind::Integer, J::String(s)) => parse_text(column, s),
        (ColumnKind::Float, J::Number(n)) => n
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| format!("{n} is not a number")),
        (ColumnKind::Float, J::String(s)) => parse_text(column, s),
        (ColumnKind::Timestamp, J::String(s)) => parse_timestamp(s),
        (ColumnKind::Money, J::String(s)) => parse_money(s),
        (ColumnKind::Money, J::Number(n)) => parse_money(&n.to_string()),
        (ColumnKind::Date, J::String(s)) => parse_date(s),
        (ColumnKind::TextList, J::Array(items)) => items
            .iter()
            .map(|item| match item {
                J::String(s) => Ok(s.clone()),
                other => Err(format!("{other} in the list is not a string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::TextList),
        (kind, other) => Err(format!("{other} is not {}", describe(kind))),
    }
}

fn describe(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "a string",
        ColumnKind::Integer => "an integer",
        ColumnKind::Float => "a number",
        ColumnKind::Timestamp => "an RFC 3339 timestamp",
        ColumnKind::TextList => "a JSON array of strings",
        ColumnKind::Money => "a decimal number",
        ColumnKind::Date => "a date (YYYY-MM-DD)",
    }
}

/// RFC 3339 with any offset, stored as UTC microseconds.
fn parse_timestamp(raw: &str) -> Result<Value, String> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| Value::Timestamp(t.timestamp_micros()))
        .map_err(|_| format!("{} is not an RFC 3339 timestamp", quote(raw)))
}

fn parse_date(raw: &str) -> Result<Value, String> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(Value::date)
        .map_err(|_| format!("{} is not a date (YYYY-MM-DD)", quote(raw)))
}

fn parse_money(raw: &str) -> Result<Value, String> {
    arrow::compute::kernels::cast_utils::parse_decimal::<arrow::datatypes::Decimal128Type>(
        raw.trim(),
        MONEY_PRECISION,
        MONEY_SCALE,
    )
    .map(Value::Money)
    .map_err(|_| format!("{} is not a decimal number", quote(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::is_pseudonym;
    use crate::schema::{COMMITS, COSTS, DEPLOYMENTS, INCIDENTS};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMicrosecondType;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn parse(table: &'static TableSpec, path: &Path) -> Result<RecordBatch> {
        parse_file(
            table,
            path,
            None,
            &Pseudonymizer::new("k"),
            &crate::progress::NoProgress,
        )
    }

    #[test]
    fn jsonl_timestamps_with_offsets_become_utc() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "incidents.jsonl",
            "{\"service\":\"pay\",\"incident_id\":\"I1\",\"opened_at\":\"2018-06-15T13:01:51-07:00\"}\n\n",
        );
        let batch = parse(&INCIDENTS, &path).unwrap();
        assert_eq!(batch.num_rows(), 1);
        let opened = batch.column(4).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(
            opened.value(0),
            chrono::DateTime::parse_from_rfc3339("2018-06-15T20:01:51Z")
                .unwrap()
                .timestamp_micros()
        );
        let id = batch.column(0).as_string::<i32>().value(0).to_string();
        assert!(id.starts_with("import:incidents:"), "{id}");
        // The same content gives the same derived id.
        let again = parse(&INCIDENTS, &path).unwrap();
        assert_eq!(again.column(0).as_string::<i32>().value(0), id);
    }

    #[test]
    fn closed_sets_are_normalised_where_certain_and_refused_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let row = |status: &str| {
            format!("{{\"service\":\"pay\",\"environment\":\"production\",\"sha\":\"a\",\"deployment_id\":\"{status}\",\"status\":\"{status}\",\"started_at\":\"2026-01-01T00:00:00Z\",\"source\":\"ci\"}}\n")
        };
        let good = write(
            dir.path(),
            "good.jsonl",
            &[
                row("succeeded"),
                row("SUCCESS"),
                row("failed"),
                row("Canceled"),
            ]
            .concat(),
        );
        let batch = parse(&DEPLOYMENTS, &good).unwrap();
        let (index, _) = DEPLOYMENTS.column("status").unwrap();
        let statuses = batch.column(index).as_string::<i32>();
        let statuses: Vec<&str> = (0..statuses.len()).map(|i| statuses.value(i)).collect();
        assert_eq!(statuses, ["success", "success", "failure", "cancelled"]);
        let bad = write(
            dir.path(),
            "bad.jsonl",
            &[row("success"), row("succeded")].concat(),
        );
        let err = parse(&DEPLOYMENTS, &bad).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "{}:2: status: `succeded` is not a deployment status; accepted: success, failure, error, cancelled",
                bad.display()
            )),
            "{err}"
        );
        assert!(!err.contains("required but missing"), "{err}");
    }

    #[test]
    fn names_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "incidents.jsonl",
            concat!(
                "{\"service\":\"pay\",\"incident_id\":\"I1\",\"opened_at\":\"2026-01-01T00:00:00Z\"}\n",
                "{\"service\":\"pay\",\"incident_id\":\"I2\",\"opened_at\":\"2026-01-01T00:00:00Z\"}\n",
                "{\"service\":\"pay\",\"incident_id\":\"I3\",\"opened_at\":\"not-a-time\"}\n",
                "{\"service\":\"pay\",\"incident_id\":\"I4\"}\n",
                "{\"service\":\"pay\",\"incident\":\"I5\",\"opened_at\":\"2026-01-01T00:00:00Z\"}\n",
                "[1]\n",
            ),
        );
        let err = parse(&INCIDENTS, &path).unwrap_err().to_string();
        let name = path.display();
        assert!(
            err.contains(&format!(
                "{name}:3: opened_at: \"not-a-time\" is not an RFC 3339 timestamp"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("{name}:4: opened_at: is required but missing")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{name}:5: incident: unknown column of table incidents"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("{name}:6: -: not a JSON object")),
            "{err}"
        );
        assert!(err.contains("nothing from it was stored"), "{err}");
    }

    #[test]
    fn csv_lists_money_persons_and_quoted_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "commits.csv",
            "\u{feff}repo,sha,parents,author,authored_at,message_summary\n\
             acme/api,a1,\"[\"\"p1\"\",\"\"p2\"\"]\",alice@example.com,2026-03-29T01:30:00+01:00,\"two\nlines\"\n\
             acme/api,a2,[],dev_0123456789abcdef,2026-03-29T03:30:00+02:00,\n",
        );
        let batch = parse(&COMMITS, &path).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let parents = batch.column(3).as_list::<i32>();
        assert_eq!(parents.value(0).len(), 2);
        assert_eq!(parents.value(1).len(), 0);
        let authors = batch.column(4).as_string::<i32>();
        assert!(is_pseudonym(authors.value(0)) && !authors.value(0).contains("alice"));
        assert_eq!(authors.value(1), "dev_0123456789abcdef");
        assert!(batch.column(7).is_null(1));

        let bad = write(dir.path(), "bad.csv", "repo,sha,author,authored_at\nacme/api,a1,x,2026-01-01T00:00:00Z\nacme/api,a2,x,yesterday\n");
        let err = parse(&COMMITS, &bad).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{}:3: authored_at: \"yesterday\"", bad.display())),
            "{err}"
        );

        let costs = write(
            dir.path(),
            "costs.csv",
            "charge_period_start,charge_period_end,billed_cost,billing_currency\n2024-09-18T22:00:00Z,2024-09-18T23:00:00Z,0.00000080000,USD\n",
        );
        let batch = parse(&COSTS, &costs).unwrap();
        let cost = batch
            .column(3)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(cost.value(0), 8_000); // 0.0000008 at scale 10
    }

    #[test]
    fn csv_header_errors_and_unknown_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "i.csv",
            "service,opend_at\npay,2026-01-01T00:00:00Z\n",
        );
        let err = parse(&INCIDENTS, &path).unwrap_err().to_string();
        assert!(err.contains(":1: opend_at: unknown column"), "{err}");
        assert!(
            err.contains(":1: incident_id: required column is missing"),
            "{err}"
        );
        let path = write(dir.path(), "i.txt", "");
        let err = parse(&INCIDENTS, &path).unwrap_err().to_string();
        assert!(err.contains("--format"), "{err}");
    }
}
