//! The tables section of `docs/lake-format.md`, written from the schema
//! itself, so the published contract cannot drift from what the lake
//! stores: a test fails when the document is stale
//! (`DEVEX_WRITE_DOCS=1 cargo test -p devex-ingest format_doc` rewrites it).

use std::fmt::Write;

use super::{ColumnKind, TableSpec, AUDIT, PARTITION_COLUMN, TABLES};

/// Marks the generated part of the document.
pub const BEGIN: &str = "<!-- tables: generated from ingest/src/schema.rs, do not edit -->";
pub const END: &str = "<!-- tables: end -->";

impl ColumnKind {
    /// The Parquet physical type and logical annotation devex writes.
    pub fn parquet_type(self) -> &'static str {
        match self {
            ColumnKind::Text => "BYTE_ARRAY, STRING",
            ColumnKind::Integer => "INT64",
            ColumnKind::Float => "DOUBLE",
            ColumnKind::Timestamp => "INT64, TIMESTAMP(MICROS, isAdjustedToUTC=true)",
            ColumnKind::TextList => "LIST of BYTE_ARRAY, STRING",
            ColumnKind::Money => "FIXED_LEN_BYTE_ARRAY(16), DECIMAL(38, 10)",
            ColumnKind::Date => "INT32, DATE",
        }
    }

    /// The column's type in Trino's Hive connector.
    pub fn trino_type(self) -> &'static str {
        match self {
            ColumnKind::Text => "varchar",
            ColumnKind::Integer => "bigint",
            ColumnKind::Float => "double",
            ColumnKind::Timestamp => "timestamp(6)",
            ColumnKind::TextList => "array(varchar)",
            ColumnKind::Money => "decimal(38, 10)",
            ColumnKind::Date => "date",
        }
    }
}

/// The generated section: every table's folder, partitioning, sort key
/// and columns, and its `CREATE TABLE` for Trino's Hive connector.
pub fn tables_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN}");
    for table in TABLES.iter().copied().chain([&AUDIT]) {
        table_markdown(&mut out, table);
    }
    let _ = writeln!(out, "{END}");
    out
}

fn table_markdown(out: &mut String, table: &TableSpec) {
    let _ = writeln!(out, "\n### `{}`\n\n{}\n", table.name, table.doc);
    match table.partition_by {
        Some(column) => {
            let _ = writeln!(
                out,
                "Files: `{0}/{PARTITION_COLUMN}=YYYY-MM/part-<hash>.parquet`, partitioned by the UTC month of `{column}`.",
                table.name
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Files: `{}/part-<hash>.parquet` (a catalog table: not partitioned).",
                table.name
            );
        }
    }
    let _ = writeln!(
        out,
        "Rows in a file are sorted by `{}`.\n",
        table.sort_by.join("`, `")
    );
    let _ = writeln!(out, "| Column | Parquet type | Null | Meaning |");
    let _ = writeln!(out, "|---|---|---|---|");
    for column in table.columns {
        let person = if column.person {
            " A pseudonymous id (`dev_` + 16 hex digits), never a name."
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {}{person} |",
            column.name,
            column.kind.parquet_type(),
            if column.nullable { "yes" } else { "no" },
            column.doc.replace('|', "\\|").replace('\n', " "),
        );
    }
    if table.partition_by.is_some() {
        let _ = writeln!(
            out,
            "| `{PARTITION_COLUMN}` | (Hive partition, from the folder name) | no | `YYYY-MM`, UTC. |"
        );
    }
    let _ = writeln!(out, "\n```sql\nCREATE TABLE hive.devex.{} (", table.name);
    let mut columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("  {} {}", c.name, c.kind.trino_type()))
        .collect();
    if table.partition_by.is_some() {
        columns.push(format!("  {PARTITION_COLUMN} varchar"));
    }
    let _ = writeln!(out, "{}", columns.join(",\n"));
    let partitioned = match table.partition_by {
        Some(_) => format!(",\n  partitioned_by = ARRAY['{PARTITION_COLUMN}']"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        ") WITH (\n  external_location = 's3://BUCKET/PREFIX/{}',\n  format = 'PARQUET'{partitioned}\n);\n```",
        table.name
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_lake_format_lists_every_table_as_stored() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lake-format.md");
        let document = std::fs::read_to_string(&path).unwrap();
        let (Some(start), Some(end)) = (document.find(BEGIN), document.find(END)) else {
            panic!("docs/lake-format.md lost its generated-section markers");
        };
        let current = &document[start..end + END.len() + 1];
        let generated = tables_markdown();
        if std::env::var_os("DEVEX_WRITE_DOCS").is_some() {
            let rewritten = document.replace(current, &generated);
            std::fs::write(&path, rewritten).unwrap();
            return;
        }
        assert!(
            current == generated,
            "docs/lake-format.md is stale: run DEVEX_WRITE_DOCS=1 cargo test -p devex-ingest format_doc"
        );
    }
}
