//! Importing survey exports as the tools really write them:
//!
//! * **Google Forms** (CSV): `Timestamp` like `2025/09/01 10:09:52 AM UTC+3`,
//!   `Email Address`, one column per question (its text), checkboxes joined
//!   by `, `.
//! * **Typeform** (CSV): `#` (the response token), `Submit Date (UTC)` like
//!   `2025-09-01 10:09:52`.
//! * **Qualtrics** (CSV): three header rows (column ids, question texts, and
//!   `{"ImportId": ..., "timeZone": ...}` giving the zone of the dates),
//!   `ResponseId`, `RecordedDate`, `RecipientEmail`.
//! * **Microsoft Forms** (xlsx): `ID`, `Start time`, `Completion time`,
//!   `Email`, multiple choices joined by `;`.
//!
//! Exports may start with a byte-order mark and hold quoted newlines. A
//! question column is found by its question id or text in the survey
//! definition, or through a mapping file. Likert labels ("Strongly agree")
//! become numbers. The e-mail becomes a salted pseudonymous respondent id
//! (its own key, so answers never join to work activity) and is never
//! stored; the team comes from a team column, else from the catalog's
//! `team_members`. Nothing is stored when any row is wrong; errors name the
//! file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use ingest::identity::Pseudonymizer;
use ingest::lake::{AppendSummary, Lake};
use ingest::rows::{TableBuilder, Value};
use ingest::schema::SURVEY_RESPONSES;
use serde::Deserialize;
use sha2::Digest;

use crate::definition::{Question, QuestionType, SurveyDefinition};
use crate::error::{Error, Result};

/// Errors listed before giving up on a file.
const MAX_ERRORS: usize = 20;

/// Which tool wrote the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    GoogleForms,
    Typeform,
    Qualtrics,
    MicrosoftForms,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::GoogleForms => "Google Forms",
            Tool::Typeform => "Typeform",
            Tool::Qualtrics => "Qualtrics",
            Tool::MicrosoftForms => "Microsoft Forms",
        }
    }
}

/// A mapping file (TOML): which column is which question, and more.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Column header (or Qualtrics column id) -> question id.
    pub columns: BTreeMap<String, String>,
    /// Extra answer labels -> number, e.g. "Mostly agree" = 4.
    pub labels: BTreeMap<String, f64>,
    /// The column holding the respondent's team.
    pub team: Option<String>,
    /// The column holding the e-mail, when not the tool's usual one.
    pub email: Option<String>,
    /// Time zone of the export's dates when the tool does not say (Microsoft
    /// Forms writes the form owner's local time).
    pub timezone: Option<String>,
}

impl Mapping {
    pub fn read(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidExport {
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read the mapping file ({e})"),
        })?;
        toml::from_str(&text).map_err(|e| Error::InvalidExport {
            file: path.display().to_string(),
            line: 0,
            message: format!("not a valid mapping: {e}"),
        })
    }
}

/// An export as text cells: header rows and data rows with their line.
struct Sheet {
    /// The header row with column names (Qualtrics: its second row, the
    /// question texts, is in `texts`).
    headers: Vec<String>,
    texts: Vec<String>,
    time_zone: Option<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn read_csv(file: &str, bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::InvalidExport {
            file: file.to_string(),
            line: e.position().map_or(0, |p| p.line() as usize),
            message: format!("not valid CSV: {e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        out.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

fn read_xlsx(file: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    use calamine::{open_workbook_auto, Data, DataType, Reader};
    let invalid = |message: String| Error::InvalidExport {
        file: file.to_string(),
        line: 0,
        message,
    };
    let mut workbook =
        open_workbook_auto(path).map_err(|e| invalid(format!("not a readable workbook: {e}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| invalid("the workbook has no sheet".into()))?
        .map_err(|e| invalid(format!("cannot read the first sheet: {e}")))?;
    let mut out = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells = row
            .iter()
            .map(|cell| match cell {
                Data::DateTime(_) | Data::DateTimeIso(_) => cell
                    .as_datetime()
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                Data::Empty => String::new(),
                other => other.to_string(),
            })
            .collect();
        out.push((i + 1, cells));
    }
    Ok(out)
}

fn detect(file: &str, rows: Vec<(usize, Vec<String>)>, xlsx: bool) -> Result<(Tool, Sheet)> {
    let mut rows = rows.into_iter();
    let Some((_, headers)) = rows.next() else {
        return Err(Error::InvalidExport {
            file: file.to_string(),
            line: 1,
            message: "the export is empty".into(),
        });
    };
    let headers: Vec<String> = headers
        .into_iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let has = |name: &str| headers.iter().any(|h| h.eq_ignore_ascii_case(name));
    let mut rest: Vec<(usize, Vec<String>)> = rows.collect();
    if has("ResponseId") && rest.len() >= 2 && rest[1].1.iter().any(|c| c.contains("ImportId")) {
        let texts = rest.remove(0).1;
        let import_ids = rest.remove(0).1;
        let time_zone = import_ids.iter().find_map(|c| {
            serde_json::from_str::<serde_json::Value>(c)
                .ok()
                .and_then(|v| {
                    v.get("timeZone")
                        .and_then(|z| z.as_str())
                        .map(str::to_string)
                })
        });
        return Ok((
            Tool::Qualtrics,
            Sheet {
                headers,
                texts,
                time_zone,
                rows: rest,
            },
        ));
    }
    let tool = if xlsx && has("ID") && has("Completion time") {
        Tool::MicrosoftForms
    } else if has("Submit Date (UTC)") {
        Tool::Typeform
    } else if headers
        .first()
        .is_some_and(|h| h.eq_ignore_ascii_case("Timestamp"))
    {
        Tool::GoogleForms
    } else {
        return Err(Error::InvalidExport {
            file: file.to_string(),
            line: 1,
            message: "not an export devex knows: expected Google Forms (first column `Timestamp`), Typeform (`Submit Date (UTC)`), Qualtrics (three header rows with `ResponseId`) or Microsoft Forms (.xlsx with `ID` and `Completion time`)".into(),
        });
    };
    Ok((
        tool,
        Sheet {
            texts: headers.clone(),
            headers,
            time_zone: None,
            rows: rest,
        },
    ))
}

fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '?', ':', '*'])
        .to_lowercase()
}

/// Google Forms' `2025/09/01 10:09:52 AM UTC+3` (or `GMT-4`, `UTC+5:30`).
fn parse_google(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let (stamp, zone) = match value.rfind(" UTC").or_else(|| value.rfind(" GMT")) {
        Some(at) => (&value[..at], &value[at + 4..]),
        None => (value, ""),
    };
    let local = NaiveDateTime::parse_from_str(stamp, "%Y/%m/%d %I:%M:%S %p")
        .or_else(|_| NaiveDateTime::parse_from_str(stamp, "%Y/%m/%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(stamp, "%m/%d/%Y %H:%M:%S"))
        .ok()?;
    let offset_minutes = if zone.is_empty() {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits = zone.trim_start_matches(['+', '-']);
        let (hours, minutes) = digits.split_once(':').unwrap_or((digits, "0"));
        sign * (hours.parse::<i32>().ok()? * 60 + minutes.parse::<i32>().ok()?)
    };
    let offset = chrono::FixedOffset::east_opt(offset_minutes * 60)?;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_local(value: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%m/%d/%Y %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%m/%d/%y %H:%M:%S"))
        .ok()?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// What was imported.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyImport {
    pub tool: Tool,
    pub responses: usize,
    pub answers: usize,
    pub stored: AppendSummary,
}

/// Keys for respondent pseudonyms and catalog lookups.
pub struct Identities<'a> {
    /// The survey's own key: respondent ids never equal developer ids.
    pub respondents: Pseudonymizer,
    /// The developer pseudonymizer, only to look the team up in the catalog.
    pub developers: &'a Pseudonymizer,
    /// Developer pseudonym -> current team, from `team_members`.
    pub teams: HashMap<String, String>,
}

/// Reads, checks and stores one export of `survey_id`.
pub async fn import_export(
    lake: &Lake,
    definition: &SurveyDefinition,
    survey_id: &str,
    path: &Path,
    mapping: &Mapping,
    identities: &Identities<'_>,
) -> Result<SurveyImport> {
    let export = read_export(definition, survey_id, path, mapping, identities)?;
    let answers = export.answers.num_rows();
    let stored = lake.append(&SURVEY_RESPONSES, &export.answers).await?;
    Ok(SurveyImport {
        tool: export.tool,
        responses: export.responses,
        answers,
        stored,
    })
}

/// An export read and checked, not yet stored.
pub struct ReadExport {
    pub tool: Tool,
    pub responses: usize,
    /// `survey_responses` rows, one per answer.
    pub answers: arrow::record_batch::RecordBatch,
}

/// Reads and checks one export of `survey_id`: every problem, with its
/// line and column, or the answers.
pub fn read_export(
    definition: &SurveyDefinition,
    survey_id: &str,
    path: &Path,
    mapping: &Mapping,
    identities: &Identities<'_>,
) -> Result<ReadExport> {
    let file = path.display().to_string();
    let xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let rows = if xlsx {
        read_xlsx(&file, path)?
    } else {
        let bytes = std::fs::read(path).map_err(|e| Error::InvalidExport {
            file: file.clone(),
            line: 0,
            message: format!("cannot read it ({e})"),
        })?;
        read_csv(&file, &bytes)?
    };
    let (tool, sheet) = detect(&file, rows, xlsx)?;
    // The first of `names` the export has (names in order of preference).
    let column = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| sheet.headers.iter().position(|h| h.eq_ignore_ascii_case(n)))
    };
    let email_column = match &mapping.email {
        Some(name) => column(&[name.as_str()]),
        None => column(&[
            "Email Address",
            "Email",
            "RecipientEmail",
            "email",
            "e-mail",
        ]),
    };
    let team_column = match &mapping.team {
        Some(name) => Some(
            column(&[name.as_str()]).ok_or_else(|| Error::InvalidExport {
                file: file.clone(),
                line: 1,
                message: format!(
                    "the mapping names the team column `{name}`, which the export does not have"
                ),
            })?,
        ),
        None => column(&["Team", "team"]),
    };
    let (id_column, time_column) = match tool {
        Tool::GoogleForms => (None, column(&["Timestamp"])),
        Tool::Typeform => (column(&["#"]), column(&["Submit Date (UTC)"])),
        Tool::Qualtrics => (
            column(&["ResponseId"]),
            column(&["RecordedDate", "EndDate"]),
        ),
        Tool::MicrosoftForms => (column(&["ID"]), column(&["Completion time"])),
    };
    let Some(time_column) = time_column else {
        return Err(Error::InvalidExport {
            file,
            line: 1,
            message: format!(
                "a {} export without its submission time column",
                tool.name()
            ),
        });
    };
    let zone_name = sheet
        .time_zone
        .clone()
        .or_else(|| mapping.timezone.clone())
        .unwrap_or_else(|| "UTC".into());
    let zone: Tz = zone_name.parse().map_err(|_| Error::InvalidExport {
        file: file.clone(),
        line: 0,
        message: format!(
            "time zone `{zone_name}` is not an IANA zone; set `timezone` in the mapping file"
        ),
    })?;

    // Question columns: mapping first, then question ids, then texts.
    let mut questions: Vec<(usize, &Question)> = Vec::new();
    for (i, (header, text)) in sheet
        .headers
        .iter()
        .zip(sheet.texts.iter().chain(std::iter::repeat(&String::new())))
        .enumerate()
    {
        let question = mapping
            .columns
            .get(header)
            .or_else(|| mapping.columns.get(text))
            .and_then(|id| definition.question(id))
            .or_else(|| definition.question(header))
            .or_else(|| {
                definition.questions.iter().find(|q| {
                    let wording = normalize(&q.text);
                    normalize(header) == wording || normalize(text) == wording
                })
            });
        if let Some(q) = question {
            questions.push((i, q));
        }
    }
    if let Some(unknown) = mapping
        .columns
        .values()
        .find(|id| definition.question(id).is_none())
    {
        return Err(Error::InvalidExport {
            file,
            line: 0,
            message: format!(
                "the mapping names question `{unknown}`, which survey `{}` does not have",
                definition.id
            ),
        });
    }
    if questions.is_empty() {
        return Err(Error::InvalidExport {
            file,
            line: 1,
            message: "no column matches a question of the survey; map columns to question ids with --mapping".into(),
        });
    }

    let mut builder = TableBuilder::new(&SURVEY_RESPONSES);
    let mut errors: Vec<String> = Vec::new();
    let mut responses = 0;
    for (line, cells) in &sheet.rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| cells.get(i).map(|c| c.trim()).unwrap_or("");
        let mut fail = |column: &str, message: String| {
            if errors.len() < MAX_ERRORS {
                errors.push(format!("{file}:{line}: {column}: {message}"));
            }
        };
        let raw_time = cell(time_column);
        let submitted = match tool {
            Tool::GoogleForms => parse_google(raw_time),
            _ => parse_local(raw_time, zone),
        };
        let Some(submitted) = submitted else {
            fail(
                &sheet.headers[time_column],
                format!(
                    "`{raw_time}` is not a date and time the way {} writes them",
                    tool.name()
                ),
            );
            continue;
        };
        let email = email_column.map(cell).filter(|e| !e.is_empty());
        let response_id = match id_column.map(cell).filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            // Google Forms has no response id: its time and e-mail are one.
            None => hex::encode(
                &sha2::Sha256::digest(format!("{raw_time}\u{0}{}", email.unwrap_or("")).as_bytes())
                    [..8],
            ),
        };
        let respondent = match email {
            Some(email) => format!(
                "r_{}",
                identities
                    .respondents
                    .pseudonym(email)
                    .trim_start_matches("dev_")
            ),
            None => format!(
                "r_{}",
                &hex::encode(sha2::Sha256::digest(
                    format!("{survey_id}/{response_id}").as_bytes()
                ))[..16]
            ),
        };
        let team = team_column
            .map(cell)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .or_else(|| {
                email.and_then(|e| {
                    identities
                        .teams
                        .get(&identities.developers.pseudonym(e))
                        .cloned()
                })
            });
        responses += 1;
        for (i, question) in &questions {
            let raw = cell(*i);
            if raw.is_empty() {
                continue;
            }
            let (number, text) = match question.kind {
                QuestionType::Likert5 | QuestionType::Likert7 | QuestionType::Nps => {
                    let (low, high) = question.kind.range().unwrap_or((0.0, 10.0));
                    let value = raw
                        .parse::<f64>()
                        .ok()
                        .or_else(|| question.kind.label_value(raw))
                        .or_else(|| mapping.labels.get(raw).copied());
                    match value {
                        Some(v) if (low..=high).contains(&v) => (Some(v), None),
                        _ => {
                            fail(
                                &sheet.headers[*i],
                                format!(
                                    "`{raw}` is not an answer of question `{}` ({low}-{high}); add its label to [labels] in the mapping",
                                    question.id
                                ),
                            );
                            continue;
                        }
                    }
                }
                QuestionType::MultipleChoice => {
                    let separator = if tool == Tool::MicrosoftForms {
                        ";"
                    } else {
                        ", "
                    };
                    let choices: Vec<&str> = raw
                        .split(separator)
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect();
                    (None, Some(serde_json::json!(choices).to_string()))
                }
                _ => (None, Some(raw.to_string())),
            };
            let pushed = builder.push(vec![
                Value::text(format!("survey:{survey_id}:{response_id}:{}", question.id)),
                Value::text(survey_id),
                Value::text(&response_id),
                Value::text(&respondent),
                Value::opt_text(team.clone()),
                Value::Timestamp(submitted.timestamp_micros()),
                Value::text(&question.id),
                number.map_or(Value::Null, Value::Float),
                Value::opt_text(text),
            ]);
            if let Err(e) = pushed {
                fail(&sheet.headers[*i], e.to_string());
            }
        }
    }
    if !errors.is_empty() {
        let count = errors.len();
        return Err(Error::InvalidExport {
            file: file.clone(),
            line: 0,
            message: format!(
                "{count}{} problem(s); nothing from it was stored:\n  {}",
                if count >= MAX_ERRORS { "+" } else { "" },
                errors.join("\n  ")
            ),
        });
    }
    Ok(ReadExport {
        tool,
        responses,
        answers: builder.finish()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_forms_times_carry_their_offset() {
        let t = parse_google("2025/09/01 10:09:52 AM UTC+3").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-09-01T07:09:52+00:00");
        let t = parse_google("2025/09/01 1:05:00 PM GMT-4").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-09-01T17:05:00+00:00");
        let t = parse_google("2025/09/01 10:00:00 AM UTC+5:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-09-01T04:30:00+00:00");
        assert!(parse_google("yesterday").is_none());
    }
}
