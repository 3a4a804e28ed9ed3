//! Query results as a text table, a JSON array of row objects, or CSV.

use arrow::json::writer::{JsonArray, WriterBuilder};
use arrow::util::pretty::pretty_format_batches;

use analytics::QueryResult;

use crate::error::{Error, Result};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

pub fn render(result: &QueryResult, format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Table => to_table(result),
        OutputFormat::Json => to_json(result),
        OutputFormat::Csv => to_csv(result),
    }
}

fn arrow_error(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("cannot render the result: {e}"))
}

pub fn to_table(result: &QueryResult) -> Result<String> {
    if result.batches.is_empty() {
        let empty = arrow::record_batch::RecordBatch::new_empty(result.schema.clone());
        return Ok(pretty_format_batches(&[empty])
            .map_err(arrow_error)?
            .to_string());
    }
    Ok(pretty_format_batches(&result.batches)
        .map_err(arrow_error)?
        .to_string())
}

/// `[{"column": value, ...}, ...]`, nulls written out explicitly.
pub fn to_json(result: &QueryResult) -> Result<String> {
    let mut buffer = Vec::new();
    {
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(&mut buffer);
        for batch in &result.batches {
            writer.write(batch).map_err(arrow_error)?;
        }
        writer.finish().map_err(arrow_error)?;
    }
    if buffer.is_empty() {
        return Ok("[]".to_string());
    }
    String::from_utf8(buffer).map_err(|e| Error::Internal(e.to_string()))
}

pub fn to_csv(result: &QueryResult) -> Result<String> {
    let mut buffer = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut buffer);
        if result.batches.is_empty() {
            let empty = arrow::record_batch::RecordBatch::new_empty(result.schema.clone());
            writer.write(&empty).map_err(arrow_error)?;
        }
        for batch in &result.batches {
            writer.write(batch).map_err(arrow_error)?;
        }
    }
    String::from_utf8(buffer).map_err(|e| Error::Internal(e.to_string()))
}

/// `text` cut to at most `max_chars` characters (never inside one), with
/// `...` marking the cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(3)).collect();
    format!("{kept}...")
}

/// Rows of text as CSV with a header line.
pub fn csv_text(headers: &[String], rows: &[Vec<String>]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("cannot write CSV: {e}"));
    writer.write_record(headers).map_err(internal)?;
    for row in rows {
        writer.write_record(row).map_err(internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}

/// Rows of text (the header first) as aligned lines: the first and the
/// last column left-aligned (a key and a reason), the numbers between
/// right-aligned.
pub fn aligned_lines(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 || i + 1 == columns {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// A plain text table: first column left-aligned, the rest right-aligned.
pub fn text_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers)];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

/// The width text tables and their header lines keep to; wider detail is
/// in `--format json|csv`.
pub const TABLE_WIDTH: usize = 120;

/// Text wrapped to [`TABLE_WIDTH`] columns.
pub fn wrapped(text: &str) -> String {
    textwrap::fill(text, TABLE_WIDTH)
}

/// A duration in hours as minutes under an hour, hours under two days,
/// else days.
pub fn duration_hours(hours: f64) -> String {
    if hours < 1.0 {
        format!("{} min", trim(hours * 60.0))
    } else if hours < 48.0 {
        format!("{} h", trim(hours))
    } else {
        format!("{} d", trim(hours / 24.0))
    }
}

/// A number with the decimals its size needs (12, 3.5, 0.25).
pub fn trim(value: f64) -> String {
    let text = if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Replaces each row's last cell (a reason a group is hidden) with a
/// numbered mark, and returns the reasons as footnotes, so a table keeps to
/// its width whatever the reason's length.
pub fn footnoted_reasons(rows: &mut [Vec<String>]) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    for row in rows.iter_mut() {
        let Some(last) = row.last_mut() else { continue };
        if last.is_empty() {
            continue;
        }
        let number = match reasons.iter().position(|r| r == last) {
            Some(i) => i + 1,
            None => {
                reasons.push(last.clone());
                reasons.len()
            }
        };
        *last = format!("hidden [{number}]");
    }
    reasons
        .iter()
        .enumerate()
        .map(|(i, reason)| wrapped(&format!("[{}] {reason}", i + 1)))
        .collect()
}

/// `data_as_of` as a report's headline says it.
pub fn data_as_of(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "No events yet.".into(),
        |t| {
            format!(
                "Data as of {} (the newest event stored).",
                t.format("%Y-%m-%d %H:%M UTC")
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn result() -> QueryResult {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("team", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![42])),
                Arc::new(StringArray::from(vec![None::<&str>])),
            ],
        )
        .unwrap();
        QueryResult {
            schema,
            batches: vec![batch],
        }
    }

    #[test]
    fn json_is_an_array_of_row_objects() {
        assert_eq!(to_json(&result()).unwrap(), r#"[{"n":42,"team":null}]"#);
        let empty = QueryResult {
            schema: result().schema,
            batches: vec![],
        };
        assert_eq!(to_json(&empty).unwrap(), "[]");
    }

    #[test]
    fn truncation_respects_characters() {
        let name = "Zahlungsverkehr-Überweisungen-Österreich-Ñandú";
        let cut = truncate(name, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with("..."), "{cut}");
        assert_eq!(truncate("Ñandú", 40), "Ñandú");
        // Cutting at every length never splits a character.
        for n in 3..name.chars().count() + 2 {
            assert!(truncate(name, n).chars().count() <= n.max(3));
        }
    }

    #[test]
    fn csv_and_table() {
        assert_eq!(to_csv(&result()).unwrap(), "n,team\n42,\n");
        assert!(to_table(&result()).unwrap().contains("| 42 |"));
    }
}
