//! The surveys crate's integration tests, one binary: imports of real-shaped
//! exports of four tools, and results that an attacker tries to read below
//! the anonymity threshold.

mod properties;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::columns::Columns;
use analytics::LakeQueries;
use ingest::identity::Pseudonymizer;
use ingest::lake::Lake;
use ingest::rows::{TableBuilder, Value};
use surveys::definition::SurveyDefinition;
use surveys::import::{import_export, Identities, Mapping, Tool};
use surveys::results::{compare, results};
use surveys::AnonymityThreshold;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn lake() -> (tempfile::TempDir, Arc<Lake>) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
    (dir, lake)
}

struct Keys {
    respondents: Pseudonymizer,
    developers: Pseudonymizer,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            respondents: Pseudonymizer::new(b"survey key"),
            developers: Pseudonymizer::new(b"developer key"),
        }
    }

    fn identities(&self, teams: HashMap<String, String>) -> Identities<'_> {
        Identities {
            respondents: self.respondents.clone(),
            developers: &self.developers,
            teams,
        }
    }
}

async fn rows(lake: &Arc<Lake>, sql: &str) -> Vec<Vec<Option<String>>> {
    let queries = LakeQueries::open(lake.clone()).await.unwrap();
    let result = queries.read_only_sql(sql).await.unwrap();
    let c = Columns::new(&result.batches);
    let names: Vec<String> = result
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let columns: Vec<Vec<Option<String>>> = names.iter().map(|n| c.text(n).unwrap()).collect();
    (0..c.len())
        .map(|i| columns.iter().map(|col| col[i].clone()).collect())
        .collect()
}

fn text(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[tokio::test]
async fn google_forms_export_with_bom_offsets_labels_and_quoted_newlines() {
    let (_dir, lake) = lake();
    let keys = Keys::new();
    let definition = SurveyDefinition::devex_quarterly().unwrap();
    let report = import_export(
        &lake,
        &definition,
        "wave-1",
        &fixture("google-forms.csv"),
        &Mapping::default(),
        &keys.identities(HashMap::new()),
    )
    .await
    .unwrap();
    assert_eq!(report.tool, Tool::GoogleForms);
    assert_eq!(report.responses, 3);
    // 3 + 3 + 3 numbers and 2 comments (bo left it empty).
    assert_eq!(report.answers, 11);
    let got = rows(
        &lake,
        "SELECT team, CAST(submitted_at AS VARCHAR) AS submitted, question_id, CAST(value_numeric AS VARCHAR) AS number, value_text \
         FROM survey_responses WHERE respondent IS NOT NULL ORDER BY submitted_at, question_id",
    )
    .await;
    // 10:09:52 at UTC+3 is 07:09:52 UTC; "Agree" is 4; 9:01:44 PM at UTC-4 is 01:01:44 UTC next day.
    assert_eq!(
        got[0..2],
        [
            vec![
                Some("checkout".into()),
                Some("2025-09-01T07:09:52Z".into()),
                Some("ci_speed_satisfaction".into()),
                Some("4.0".into()),
                None
            ],
            vec![
                Some("checkout".into()),
                Some("2025-09-01T07:09:52Z".into()),
                Some("comments".into()),
                None,
                Some("Faster CI,\nplease".into())
            ],
        ]
    );
    assert!(got.contains(&vec![
        Some("checkout".into()),
        Some("2025-09-01T07:09:52Z".into()),
        Some("local_validation_time".into()),
        Some("4.0".into()),
        None
    ]));
    assert_eq!(
        got.last().unwrap()[1].as_deref(),
        Some("2025-09-03T01:01:44Z")
    );
    // No e-mail is stored anywhere; respondents are salted ids.
    let all = rows(&lake, "SELECT * FROM survey_responses").await;
    for row in &all {
        for value in row.iter().flatten() {
            assert!(!value.contains("example.com"), "{value}");
        }
    }
    let respondents = rows(&lake, "SELECT DISTINCT respondent FROM survey_responses").await;
    assert_eq!(respondents.len(), 3);
    for r in respondents {
        let r = r[0].clone().unwrap();
        assert!(r.starts_with("r_") && r.len() == 18, "{r}");
        assert_ne!(
            r.trim_start_matches("r_"),
            keys.developers
                .pseudonym("ana@example.com")
                .trim_start_matches("dev_")
        );
    }
    // Importing the same export again adds nothing.
    let again = import_export(
        &lake,
        &definition,
        "wave-1",
        &fixture("google-forms.csv"),
        &Mapping::default(),
        &keys.identities(HashMap::new()),
    )
    .await
    .unwrap();
    assert_eq!(again.stored.rows_written, 0);
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_nothing_is_stored() {
    let (_dir, lake) = lake();
    let keys = Keys::new();
    let err = import_export(
        &lake,
        &SurveyDefinition::devex_quarterly().unwrap(),
        "wave-1",
        &fixture("google-forms-bad.csv"),
        &Mapping::default(),
        &keys.identities(HashMap::new()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("google-forms-bad.csv:2: I can validate a local change quickly.: `Maybe`"),
        "{err}"
    );
    assert!(
        err.contains("google-forms-bad.csv:3: Timestamp: `yesterday`"),
        "{err}"
    );
    assert!(
        err.contains(":4: I am satisfied with how fast our CI gives me results.: `9`"),
        "{err}"
    );
    assert!(err.contains("nothing from it was stored"), "{err}");
    assert!(rows(&lake, "SELECT * FROM survey_responses")
        .await
        .is_empty());
}

#[tokio::test]
async fn typeform_and_qualtrics_exports() {
    let (_dir, lake) = lake();
    let keys = Keys::new();
    let definition = SurveyDefinition::devex_quarterly().unwrap();
    // The team comes from the catalog for Typeform: dee is in payments.
    let teams = HashMap::from([(
        keys.developers.pseudonym("dee@example.com"),
        "payments".to_string(),
    )]);
    let report = import_export(
        &lake,
        &definition,
        "wave-1",
        &fixture("typeform.csv"),
        &Mapping::default(),
        &keys.identities(teams),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.tool, report.responses, report.answers),
        (Tool::Typeform, 2, 7)
    );
    let mapping = Mapping::read(&fixture("qualtrics-mapping.toml")).unwrap();
    let report = import_export(
        &lake,
        &definition,
        "wave-1",
        &fixture("qualtrics.csv"),
        &mapping,
        &keys.identities(HashMap::new()),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.tool, report.responses, report.answers),
        (Tool::Qualtrics, 2, 6)
    );
    let got = rows(
        &lake,
        "SELECT response_id, team, CAST(submitted_at AS VARCHAR) AS submitted, CAST(value_numeric AS VARCHAR) \
         FROM survey_responses WHERE question_id = 'ci_speed_satisfaction' ORDER BY submitted_at",
    )
    .await;
    assert_eq!(
        got,
        vec![
            text(&["k3j4h5l6m7", "payments", "2025-09-01T07:05:10Z", "4.0"]),
            vec![
                Some("p9q8r7s6t5".into()),
                None,
                Some("2025-09-01T08:12:30Z".into()),
                Some("2.0".into())
            ],
            // Qualtrics' RecordedDate is in America/Denver (UTC-6 in September).
            text(&["R_1abcDEFghi", "search", "2025-09-01T14:04:13Z", "5.0"]),
            text(&["R_2xyzUVWrst", "search", "2025-09-01T15:31:41Z", "3.0"]),
        ]
    );
    let comment = rows(
        &lake,
        "SELECT value_text FROM survey_responses WHERE question_id = 'comments'",
    )
    .await;
    assert_eq!(
        comment,
        vec![text(&["Fewer meetings, more \"focus time\""])]
    );
}

#[tokio::test]
async fn microsoft_forms_workbook_with_multiple_choices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forms.xlsx");
    {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let headers = [
            "ID",
            "Start time",
            "Completion time",
            "Email",
            "Name",
            "I am satisfied with how fast our CI gives me results.",
            "Which tools slow you down?",
        ];
        for (i, h) in headers.iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        let date = Format::new().set_num_format("m/d/yy h:mm:ss");
        for (row, (email, answer, tools)) in [
            ("hal@example.com", "Agree", "CI;Docs;"),
            ("ivy@example.com", "Strongly disagree", "Deploy tool;"),
        ]
        .iter()
        .enumerate()
        {
            let r = row as u32 + 1;
            sheet.write_number(r, 0, (row + 1) as f64).unwrap();
            let start = ExcelDateTime::parse_from_str("2025-09-01T10:00:00").unwrap();
            let end = ExcelDateTime::parse_from_str("2025-09-01T10:04:30").unwrap();
            sheet
                .write_datetime_with_format(r, 1, &start, &date)
                .unwrap();
            sheet.write_datetime_with_format(r, 2, &end, &date).unwrap();
            sheet.write_string(r, 3, *email).unwrap();
            sheet.write_string(r, 4, "Anonymous").unwrap();
            sheet.write_string(r, 5, *answer).unwrap();
            sheet.write_string(r, 6, *tools).unwrap();
        }
        workbook.save(&path).unwrap();
    }
    let definition = SurveyDefinition::parse(
        "test.toml",
        r#"
id = "tools"
title = "Tools"
[[question]]
id = "ci_speed_satisfaction"
dimension = "feedback_loops"
type = "likert5"
text = "I am satisfied with how fast our CI gives me results."
[[question]]
id = "slow_tools"
dimension = "efficiency"
type = "multiple_choice"
text = "Which tools slow you down?"
choices = ["CI", "Docs", "Deploy tool"]
"#,
    )
    .unwrap();
    let (_dir, lake) = lake();
    let keys = Keys::new();
    let mapping = Mapping {
        timezone: Some("Europe/Berlin".into()),
        team: None,
        ..Mapping::default()
    };
    let report = import_export(
        &lake,
        &definition,
        "tools-1",
        &path,
        &mapping,
        &keys.identities(HashMap::new()),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.tool, report.responses, report.answers),
        (Tool::MicrosoftForms, 2, 4)
    );
    let got = rows(
        &lake,
        "SELECT response_id, CAST(submitted_at AS VARCHAR) AS submitted, question_id, CAST(value_numeric AS VARCHAR) AS number, value_text \
         FROM survey_responses ORDER BY response_id, question_id",
    )
    .await;
    assert_eq!(
        got[0..2],
        [
            // 10:04:30 in Berlin (UTC+2 in September).
            vec![
                Some("1".into()),
                Some("2025-09-01T08:04:30Z".into()),
                Some("ci_speed_satisfaction".into()),
                Some("4.0".into()),
                None
            ],
            vec![
                Some("1".into()),
                Some("2025-09-01T08:04:30Z".into()),
                Some("slow_tools".into()),
                None,
                Some("[\"CI\",\"Docs\"]".into())
            ],
        ]
    );
}

/// A lake with a catalog (organisation > product > {checkout, search},
/// engineering > data) and one survey: checkout 6, search 2, data 7
/// respondents; on question `docs_clarity` one checkout respondent skipped.
async fn anonymity_lake() -> (tempfile::TempDir, Arc<Lake>) {
    let (dir, lake) = lake();
    let mut teams = TableBuilder::new(&ingest::schema::TEAMS);
    for (team, parent, members) in [
        ("product", None, None),
        ("engineering", None, None),
        ("checkout", Some("product"), Some(8)),
        ("search", Some("product"), Some(4)),
        ("data", Some("engineering"), Some(10)),
    ] {
        teams
            .push(vec![
                Value::text(format!("t:{team}")),
                Value::text(team),
                Value::opt_text(parent),
                members.map_or(Value::Null, Value::Integer),
                Value::Null,
            ])
            .unwrap();
    }
    lake.append(&ingest::schema::TEAMS, &teams.finish().unwrap())
        .await
        .unwrap();
    let mut answers = TableBuilder::new(&ingest::schema::SURVEY_RESPONSES);
    let at = chrono::DateTime::parse_from_rfc3339("2025-09-01T10:00:00Z")
        .unwrap()
        .timestamp_micros();
    let mut n = 0;
    for (team, people, values) in [
        ("checkout", 6, [5.0, 4.0, 4.0, 3.0, 5.0, 2.0]),
        ("search", 2, [1.0, 2.0, 0.0, 0.0, 0.0, 0.0]),
        ("data", 7, [3.0, 3.0, 4.0, 4.0, 2.0, 5.0]),
    ] {
        for p in 0..people {
            n += 1;
            let respondent = format!("r_{n:016}");
            let value = values.get(p).copied().unwrap_or(3.0);
            for (question, v) in [
                ("ci_speed_satisfaction", value),
                ("docs_clarity", value),
                ("enps", value * 2.0),
            ] {
                if question == "docs_clarity" && team == "checkout" && p == 0 {
                    continue;
                }
                answers
                    .push(vec![
                        Value::text(format!("a:{respondent}:{question}")),
                        Value::text("wave-1"),
                        Value::text(format!("resp-{n}")),
                        Value::text(&respondent),
                        Value::text(team),
                        Value::Timestamp(at),
                        Value::text(question),
                        Value::Float(v),
                        Value::Null,
                    ])
                    .unwrap();
            }
        }
    }
    lake.append(
        &ingest::schema::SURVEY_RESPONSES,
        &answers.finish().unwrap(),
    )
    .await
    .unwrap();
    (dir, lake)
}

#[tokio::test]
async fn differencing_and_narrow_filters_reveal_nothing_below_the_threshold() {
    let (_dir, lake) = anonymity_lake().await;
    let queries = LakeQueries::open(lake).await.unwrap();
    let definition = SurveyDefinition::devex_quarterly().unwrap();
    let k = AnonymityThreshold::default();
    // Every way to ask: each group alone, each group with its subgroups.
    let mut shown: HashMap<(String, String), u64> = HashMap::new();
    for group in [
        None,
        Some("product"),
        Some("engineering"),
        Some("checkout"),
        Some("search"),
        Some("data"),
    ] {
        for children in [false, true] {
            let r = results(&queries, &definition, "wave-1", group, children, k)
                .await
                .unwrap();
            for g in &r.groups {
                assert!(
                    g.respondents >= 5,
                    "{} shown with {}",
                    g.group,
                    g.respondents
                );
                for q in &g.questions {
                    assert!(q.n >= 5);
                    let seen = shown.entry((g.group.clone(), q.id.clone())).or_insert(q.n);
                    // The same group always shows the same numbers.
                    assert_eq!(*seen, q.n);
                }
            }
            for h in &r.hidden {
                assert!(!r.groups.iter().any(|g| g.group == h.group));
            }
        }
    }
    // product (8) minus checkout (6) would be search's 2: checkout is never
    // shown, on any question; search never either (2 < 5).
    assert!(
        !shown.keys().any(|(g, _)| g == "checkout" || g == "search"),
        "{shown:?}"
    );
    // Everything shown can be subtracted from anything shown above it without
    // leaving fewer than 5: organisation 15 - product 8 = engineering 7.
    assert_eq!(
        shown[&("organisation".into(), "ci_speed_satisfaction".into())],
        15
    );
    assert_eq!(
        shown[&("product".into(), "ci_speed_satisfaction".into())],
        8
    );
    assert_eq!(shown[&("data".into(), "ci_speed_satisfaction".into())], 7);
    // On docs_clarity one checkout respondent skipped: product has 7 answers.
    assert_eq!(shown[&("product".into(), "docs_clarity".into())], 7);

    let narrow = results(&queries, &definition, "wave-1", Some("search"), false, k)
        .await
        .unwrap();
    assert!(narrow.groups.is_empty());
    assert_eq!(narrow.hidden[0].reason, "fewer than 5 respondents");
    let parent = results(&queries, &definition, "wave-1", Some("product"), true, k)
        .await
        .unwrap();
    let checkout = parent
        .hidden
        .iter()
        .find(|h| h.group == "checkout")
        .unwrap();
    assert!(
        checkout.reason.contains("by difference"),
        "{}",
        checkout.reason
    );
    // A threshold of 3 lets checkout (6) show; search (2) still cannot, so
    // product - checkout = 2 would reveal it: checkout stays hidden.
    let three = AnonymityThreshold::new(3).unwrap();
    let parent = results(
        &queries,
        &definition,
        "wave-1",
        Some("product"),
        true,
        three,
    )
    .await
    .unwrap();
    assert!(parent
        .groups
        .iter()
        .all(|g| g.group != "checkout" && g.group != "search"));
    assert!(AnonymityThreshold::new(2).is_err());
}

#[tokio::test]
async fn statistics_of_a_group() {
    let (_dir, lake) = anonymity_lake().await;
    let queries = LakeQueries::open(lake).await.unwrap();
    let r = results(
        &queries,
        &SurveyDefinition::devex_quarterly().unwrap(),
        "wave-1",
        Some("data"),
        false,
        AnonymityThreshold::default(),
    )
    .await
    .unwrap();
    let data = &r.groups[0];
    // data: 3 3 4 4 2 5 3 on ci_speed_satisfaction: mean 24/7, 3 of 7
    // favourable (4 or 5); headcount 10, 7 responded.
    assert_eq!(data.respondents, 7);
    assert_eq!(data.response_rate, Some(0.7));
    let ci = data
        .questions
        .iter()
        .find(|q| q.id == "ci_speed_satisfaction")
        .unwrap();
    assert!((ci.mean.unwrap() - 24.0 / 7.0).abs() < 1e-12);
    assert!((ci.favourable_share.unwrap() - 3.0 / 7.0).abs() < 1e-12);
    assert_eq!(ci.distribution.get("3").copied(), Some(3));
    // eNPS on 6 6 8 8 4 10 6: promoters (9-10) 1, detractors (0-6) 4 of 7:
    // (1 - 4) / 7 * 100 = -42.857.
    let enps = data.questions.iter().find(|q| q.id == "enps").unwrap();
    assert!((enps.enps.unwrap() + 300.0 / 7.0).abs() < 1e-9);
    // The split behind it: 1 promoter, 2 passives (8 8), 4 detractors.
    let split = enps.enps_split.unwrap();
    assert!((split.promoters - 1.0 / 7.0).abs() < 1e-12);
    assert!((split.passives - 2.0 / 7.0).abs() < 1e-12);
    assert!((split.detractors - 4.0 / 7.0).abs() < 1e-12);
    // feedback_loops has three questions and only one was asked: no
    // dimension score from a part of it.
    assert!(data
        .dimensions
        .iter()
        .all(|d| d.dimension != "feedback_loops"));

    // Comparing a wave with itself: no change anywhere.
    let same = compare(
        &queries,
        &SurveyDefinition::devex_quarterly().unwrap(),
        "wave-1",
        "wave-1",
        Some("data"),
        false,
        AnonymityThreshold::default(),
    )
    .await
    .unwrap();
    let change = &same.groups[0].questions[0];
    assert_eq!(change.difference, 0.0);
    assert!(!change.significant);
}
