//! The `ai_usage` table: what AI coding assistants report per person, tool
//! and day. Kept per person only so that teams can be counted; every
//! measure over it is per team, hidden below the minimum group size.

use super::{Column, ColumnKind, TableSpec, EVENT_ID};

pub static AI_USAGE: TableSpec = TableSpec {
    name: "ai_usage",
    doc: "AI coding assistant use, one row per person, tool, day, surface, editor and language as the assistant reports it (GitHub Copilot's usage metrics, or any assistant's export). A day is often reported again as it becomes final: the latest `reported_at` of a key counts.",
    columns: &[
        EVENT_ID,
        col!("user", Text, person, "Pseudonymous id of the person."),
        col!(
            "tool",
            Text,
            required,
            "The assistant as the source names it (`copilot`, `cursor`, `claude-code`, ...); measures compare it in lower case."
        ),
        col!(
            "day",
            Date,
            required,
            "The day the use happened (UTC, as the assistant reports it)."
        ),
        col!(
            "surface",
            Text,
            required,
            "Where it was used: `ide`, `chat`, `cli`, `agent` or `code_review` (a closed set; `code-review` is read as `code_review`)."
        ),
        col!(
            "editor",
            Text,
            optional,
            "The editor or client, e.g. `vscode`, `jetbrains`."
        ),
        col!(
            "language",
            Text,
            optional,
            "The programming language, when the assistant reports it."
        ),
        col!(
            "interactions",
            Integer,
            optional,
            "Requests the person made (prompts, chat turns, agent runs)."
        ),
        col!(
            "suggestions",
            Integer,
            optional,
            "Suggestions shown (code completions and generated edits)."
        ),
        col!(
            "acceptances",
            Integer,
            optional,
            "Suggestions accepted."
        ),
        col!(
            "lines_suggested",
            Integer,
            optional,
            "Lines of code suggested."
        ),
        col!(
            "lines_accepted",
            Integer,
            optional,
            "Lines of code accepted."
        ),
        col!(
            "reported_at",
            Timestamp,
            optional,
            "When the source reported these counts; a later report of the same key replaces an earlier one."
        ),
    ],
    partition_by: Some("day"),
    sort_by: &["tool", "day"],
};

#[cfg(test)]
mod tests {
    use super::AI_USAGE;
    use crate::identity::{is_pseudonym, Pseudonymizer};
    use crate::import::parse_file;
    use crate::lake::Lake;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Int64Type};

    fn parse(name: &str, text: &str) -> crate::error::Result<arrow::array::RecordBatch> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        parse_file(
            &AI_USAGE,
            &path,
            None,
            &Pseudonymizer::new("k"),
            &crate::progress::NoProgress,
        )
    }

    fn column<'a>(batch: &'a arrow::array::RecordBatch, name: &str) -> &'a dyn Array {
        batch.column(AI_USAGE.column(name).unwrap().0).as_ref()
    }

    #[test]
    fn jsonl_and_csv_exports_give_the_same_rows() {
        let jsonl = parse(
            "cursor.jsonl",
            concat!(
                r#"{"user":"ana@example.com","tool":"cursor","day":"2026-03-31","surface":"code-review","editor":"cursor","interactions":4,"suggestions":10,"acceptances":3}"#,
                "\n",
                r#"{"user":"ben@example.com","tool":"cursor","day":"2026-04-01","surface":"Agent","lines_suggested":120,"lines_accepted":80}"#,
                "\n",
            ),
        )
        .unwrap();
        let csv = parse(
            "cursor.csv",
            concat!(
                "user,tool,day,surface,editor,interactions,suggestions,acceptances,lines_suggested,lines_accepted\n",
                "ana@example.com,cursor,2026-03-31,code-review,cursor,4,10,3,,\n",
                "ben@example.com,cursor,2026-04-01,Agent,,,,,120,80\n",
            ),
        )
        .unwrap();
        for batch in [&jsonl, &csv] {
            let days = column(batch, "day").as_primitive::<Date32Type>();
            // 2026-03-31 is day 20,543 since 1970-01-01.
            assert_eq!((days.value(0), days.value(1)), (20_543, 20_544));
            let surfaces = column(batch, "surface").as_string::<i32>();
            assert_eq!(
                (surfaces.value(0), surfaces.value(1)),
                ("code_review", "agent")
            );
            let users = column(batch, "user").as_string::<i32>();
            assert!(is_pseudonym(users.value(0)), "{}", users.value(0));
            assert_ne!(users.value(0), users.value(1));
            let accepted = column(batch, "lines_accepted").as_primitive::<Int64Type>();
            assert!(accepted.is_null(0));
            assert_eq!(accepted.value(1), 80);
        }
        // Same content, same derived event ids, whichever the format.
        assert_eq!(jsonl.column(0).as_ref(), csv.column(0).as_ref());
    }

    #[test]
    fn a_bad_day_or_surface_names_the_line_and_the_field() {
        let err = parse(
            "usage.jsonl",
            concat!(
                r#"{"user":"ana","tool":"copilot","day":"2026-02-30","surface":"ide"}"#,
                "\n",
                r#"{"user":"ana","tool":"copilot","day":"2026-02-01T00:00:00Z","surface":"ide"}"#,
                "\n",
                r#"{"user":"ana","tool":"copilot","day":"2026-02-01","surface":"browser"}"#,
                "\n",
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(r#"usage.jsonl:1: day: "2026-02-30" is not a date (YYYY-MM-DD)"#),
            "{err}"
        );
        assert!(err.contains("usage.jsonl:2: day:"), "{err}");
        assert!(
            err.contains("usage.jsonl:3: surface: `browser` is not a surface of an AI assistant"),
            "{err}"
        );
        assert!(
            err.contains("accepted: ide, chat, cli, agent, code_review"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn days_are_stored_in_the_month_they_belong_to() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let batch = parse(
            "usage.csv",
            concat!(
                "user,tool,day,surface\n",
                "ana,copilot,2026-03-31,ide\n",
                "ana,copilot,2026-04-01,ide\n",
                "ana,copilot,2026-04-01,ide\n",
            ),
        )
        .unwrap();
        let summary = lake.append(&AI_USAGE, &batch).await.unwrap();
        // The repeated row is the same event.
        assert_eq!((summary.rows_written, summary.duplicates), (2, 1));
        for month in ["2026-03", "2026-04"] {
            let folder = dir.path().join(format!("ai_usage/month={month}"));
            assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "{month}");
        }
    }
}
