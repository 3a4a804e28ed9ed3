//! Survey results and wave comparisons, per group of the catalog hierarchy,
//! with the anonymity rules applied to every number before it leaves.
//!
//! * Per question: respondents, mean, distribution, favourable share (top two
//!   boxes; promoters for NPS) and, for NPS questions, eNPS = % promoters
//!   (9-10) - % detractors (0-6).
//! * Per dimension: the mean of its questions' means on a 0-100 scale
//!   ((mean - lowest) / (highest - lowest) * 100) and of their favourable
//!   shares; shown only where every question of the dimension is.
//! * Response rate: respondents / headcount (the catalog's `members_count`,
//!   summed over a group's teams).
//! * Comments: only for shown groups, shuffled, never with who or when.
//! * A comparison of two waves runs Welch's t-test per question and per
//!   dimension (on each respondent's dimension score), where the group is
//!   shown in both.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use analytics::columns::Columns;
use analytics::{sql_text, LakeQueries, NameKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::anonymity::{visibility, GroupTree, Visibility, ORGANISATION};
use crate::definition::{QuestionType, SurveyDefinition};
use crate::error::{Error, Result};
use crate::welch::welch;
use crate::AnonymityThreshold;

/// One answer: its number, or its text.
type Answer = (Option<f64>, Option<String>);

/// One survey wave as read from the lake: the latest answer of each
/// respondent to each question.
struct Wave {
    /// respondent -> team
    teams: BTreeMap<String, String>,
    /// question -> respondent -> (number, text)
    answers: BTreeMap<String, BTreeMap<String, Answer>>,
}

/// A survey nobody imported: the error names the closest waves there are.
async fn unknown_survey(queries: &LakeQueries, survey_id: &str) -> Error {
    match analytics::catalog::known_names(queries, NameKind::Survey).await {
        Ok(known) => analytics::Error::unknown_name(NameKind::Survey, survey_id, &known).into(),
        Err(e) => e.into(),
    }
}

async fn load_wave(queries: &LakeQueries, survey_id: &str) -> Result<Wave> {
    let result = queries
        .read_only_sql(&format!(
            "SELECT respondent, team, question_id, value_numeric, value_text, submitted_at \
             FROM survey_responses WHERE survey_id = {} ORDER BY submitted_at, event_id",
            sql_text(survey_id)
        ))
        .await?;
    let c = Columns::new(&result.batches);
    if c.is_empty() {
        return Err(unknown_survey(queries, survey_id).await);
    }
    let mut wave = Wave {
        teams: BTreeMap::new(),
        answers: BTreeMap::new(),
    };
    let (respondents, teams, questions, numbers, texts) = (
        c.text("respondent")?,
        c.text("team")?,
        c.text("question_id")?,
        c.float("value_numeric")?,
        c.text("value_text")?,
    );
    for i in 0..c.len() {
        let (Some(respondent), Some(question)) = (respondents[i].clone(), questions[i].clone())
        else {
            continue;
        };
        // A respondent without a team still counts for the organisation.
        let team = teams[i].clone().unwrap_or_else(|| ORGANISATION.to_string());
        wave.teams.insert(respondent.clone(), team);
        // Rows come oldest first: a later answer replaces an earlier one.
        wave.answers
            .entry(question)
            .or_default()
            .insert(respondent, (numbers[i], texts[i].clone()));
    }
    Ok(wave)
}

/// The catalog's hierarchy and headcounts.
async fn load_tree(queries: &LakeQueries) -> Result<(GroupTree, BTreeMap<String, u64>)> {
    let result = queries
        .read_only_sql("SELECT team, max(parent) AS parent, max(members_count) AS members FROM teams GROUP BY team")
        .await?;
    let c = Columns::new(&result.batches);
    let (teams, parents, members) = (c.text("team")?, c.text("parent")?, c.int("members")?);
    let mut headcount = BTreeMap::new();
    let mut edges = Vec::new();
    for i in 0..c.len() {
        if let Some(team) = teams[i].clone() {
            if let Some(n) = members[i] {
                headcount.insert(team.clone(), n.max(0) as u64);
            }
            edges.push((team, parents[i].clone()));
        }
    }
    Ok((GroupTree::new(edges), headcount))
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub id: String,
    pub dimension: String,
    pub n: u64,
    pub mean: Option<f64>,
    /// Answer value -> how many gave it.
    pub distribution: BTreeMap<String, u64>,
    pub favourable_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enps: Option<f64>,
    /// For an NPS question: the shares behind eNPS (promoters 9-10,
    /// passives 7-8, detractors 0-6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enps_split: Option<EnpsSplit>,
}

/// Promoters, passives and detractors as shares of the answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EnpsSplit {
    pub promoters: f64,
    pub passives: f64,
    pub detractors: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DimensionResult {
    pub dimension: String,
    /// 0-100.
    pub score: f64,
    pub favourable_share: Option<f64>,
    pub questions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupResult {
    pub group: String,
    pub respondents: u64,
    pub headcount: Option<u64>,
    pub response_rate: Option<f64>,
    pub dimensions: Vec<DimensionResult>,
    pub questions: Vec<QuestionResult>,
    pub comments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HiddenGroup {
    pub group: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyResults {
    pub survey_id: String,
    pub title: String,
    pub threshold: u32,
    pub groups: Vec<GroupResult>,
    /// Groups asked for but not shown, and why (never with their numbers).
    pub hidden: Vec<HiddenGroup>,
}

fn reason(v: Visibility, threshold: u32) -> String {
    match v {
        Visibility::TooFew => format!("fewer than {threshold} respondents"),
        Visibility::WouldRevealOthers => {
            "shown with a larger group it would reveal a smaller one by difference".into()
        }
        Visibility::Shown => String::new(),
    }
}

/// The groups asked for: `group` (default the organisation) and, when
/// `children`, its direct subgroups.
fn asked(tree: &GroupTree, group: Option<&str>, children: bool) -> Result<Vec<String>> {
    let group = group.unwrap_or(ORGANISATION);
    if !tree.contains(group) {
        return Err(analytics::Error::unknown_name(NameKind::Team, group, &tree.groups()).into());
    }
    let mut out = vec![group.to_string()];
    if children {
        out.extend(tree.children(group));
    }
    Ok(out)
}

struct Prepared {
    tree: GroupTree,
    headcount: BTreeMap<String, u64>,
}

async fn prepare(queries: &LakeQueries, waves: &[&Wave]) -> Result<Prepared> {
    let (mut tree, headcount) = load_tree(queries).await?;
    for wave in waves {
        for team in wave.teams.values() {
            tree.ensure(team);
        }
    }
    Ok(Prepared { tree, headcount })
}

impl Prepared {
    fn members(&self, wave: &Wave, group: &str) -> BTreeSet<String> {
        wave.teams
            .iter()
            .filter(|(_, team)| self.tree.lineage(team).iter().any(|g| g == group))
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Visibility of every group for the respondents who answered `question`
    /// (or for everyone who responded, with `None`).
    fn visibility(
        &self,
        wave: &Wave,
        question: Option<&str>,
        threshold: AnonymityThreshold,
    ) -> BTreeMap<String, Visibility> {
        let teams: Vec<&str> = match question {
            Some(q) => wave
                .answers
                .get(q)
                .map(|a| {
                    a.keys()
                        .filter_map(|r| wave.teams.get(r).map(String::as_str))
                        .collect()
                })
                .unwrap_or_default(),
            None => wave.teams.values().map(String::as_str).collect(),
        };
        let mut counts = self.tree.counts(teams);
        for g in self.tree.groups() {
            counts.entry(g).or_insert(0);
        }
        visibility(&self.tree, &counts, threshold)
    }

    fn headcount(&self, group: &str) -> Option<u64> {
        let teams: Vec<u64> = self
            .headcount
            .iter()
            .filter(|(team, _)| self.tree.lineage(team).iter().any(|g| g == group))
            .map(|(_, n)| *n)
            .collect();
        (!teams.is_empty()).then(|| teams.iter().sum())
    }
}

fn numeric_answers(wave: &Wave, question: &str, respondents: &BTreeSet<String>) -> Vec<f64> {
    wave.answers
        .get(question)
        .map(|answers| {
            answers
                .iter()
                .filter(|(r, _)| respondents.contains(*r))
                .filter_map(|(_, (n, _))| *n)
                .collect()
        })
        .unwrap_or_default()
}

fn question_result(
    id: &str,
    dimension: &str,
    kind: QuestionType,
    values: &[f64],
) -> QuestionResult {
    let n = values.len() as f64;
    let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / n);
    let mut distribution = BTreeMap::new();
    for v in values {
        *distribution.entry(format!("{v}")).or_insert(0) += 1;
    }
    let favourable_share = kind
        .favourable_from()
        .filter(|_| !values.is_empty())
        .map(|from| values.iter().filter(|v| **v >= from).count() as f64 / n);
    let enps_split = (kind == QuestionType::Nps && !values.is_empty()).then(|| {
        let promoters = values.iter().filter(|v| **v >= 9.0).count() as f64 / n;
        let detractors = values.iter().filter(|v| **v <= 6.0).count() as f64 / n;
        EnpsSplit {
            promoters,
            passives: 1.0 - promoters - detractors,
            detractors,
        }
    });
    let enps = enps_split.map(|s| (s.promoters - s.detractors) * 100.0);
    QuestionResult {
        id: id.to_string(),
        dimension: dimension.to_string(),
        n: values.len() as u64,
        mean,
        distribution,
        favourable_share,
        enps,
        enps_split,
    }
}

fn normalized(kind: QuestionType, value: f64) -> Option<f64> {
    let (low, high) = kind.range()?;
    Some((value - low) / (high - low) * 100.0)
}

/// Deterministic shuffle: order by a hash of the survey and the text, so
/// the order says nothing about who wrote what or when.
fn shuffled(survey_id: &str, mut comments: Vec<String>) -> Vec<String> {
    comments.sort_by_key(|c| Sha256::digest(format!("{survey_id}\u{0}{c}").as_bytes()).to_vec());
    comments
}

/// Results of one survey wave for a group and, with `children`, its subgroups.
pub async fn results(
    queries: &LakeQueries,
    definition: &SurveyDefinition,
    survey_id: &str,
    group: Option<&str>,
    children: bool,
    threshold: AnonymityThreshold,
) -> Result<SurveyResults> {
    let wave = load_wave(queries, survey_id).await?;
    let prepared = prepare(queries, &[&wave]).await?;
    let groups = asked(&prepared.tree, group, children)?;
    let by_response = prepared.visibility(&wave, None, threshold);
    let by_question: BTreeMap<String, BTreeMap<String, Visibility>> = definition
        .questions
        .iter()
        .map(|q| {
            (
                q.id.clone(),
                prepared.visibility(&wave, Some(&q.id), threshold),
            )
        })
        .collect();
    let mut shown = Vec::new();
    let mut hidden = Vec::new();
    for group in groups {
        let v = by_response
            .get(&group)
            .copied()
            .unwrap_or(Visibility::TooFew);
        if v != Visibility::Shown {
            hidden.push(HiddenGroup {
                reason: reason(v, threshold.get()),
                group,
            });
            continue;
        }
        let respondents = prepared.members(&wave, &group);
        let headcount = prepared.headcount(&group);
        let mut questions = Vec::new();
        let mut comments = Vec::new();
        for q in &definition.questions {
            let visible = by_question[&q.id].get(&group) == Some(&Visibility::Shown);
            if !visible {
                continue;
            }
            if q.kind == QuestionType::Text {
                let texts = wave
                    .answers
                    .get(&q.id)
                    .into_iter()
                    .flatten()
                    .filter(|(r, _)| respondents.contains(*r))
                    .filter_map(|(_, (_, t))| t.clone())
                    .filter(|t| !t.trim().is_empty());
                comments.extend(texts);
                continue;
            }
            let values = numeric_answers(&wave, &q.id, &respondents);
            if !values.is_empty() {
                questions.push(question_result(&q.id, &q.dimension, q.kind, &values));
            }
        }
        let mut dimensions = Vec::new();
        let dimension_names: BTreeSet<&str> = definition
            .questions
            .iter()
            .filter(|q| q.kind.range().is_some())
            .map(|q| q.dimension.as_str())
            .collect();
        for dimension in dimension_names {
            let members: Vec<_> = definition
                .questions
                .iter()
                .filter(|q| q.dimension == dimension && q.kind.range().is_some())
                .collect();
            let results: Vec<(&QuestionResult, QuestionType)> = members
                .iter()
                .filter_map(|q| questions.iter().find(|r| r.id == q.id).map(|r| (r, q.kind)))
                .collect();
            // Every question of the dimension must be shown for the group.
            if results.len() != members.len() || results.is_empty() {
                continue;
            }
            let scores: Vec<f64> = results
                .iter()
                .filter_map(|(r, kind)| r.mean.and_then(|m| normalized(*kind, m)))
                .collect();
            let shares: Vec<f64> = results
                .iter()
                .filter_map(|(r, _)| r.favourable_share)
                .collect();
            dimensions.push(DimensionResult {
                dimension: dimension.to_string(),
                score: scores.iter().sum::<f64>() / scores.len() as f64,
                favourable_share: (!shares.is_empty())
                    .then(|| shares.iter().sum::<f64>() / shares.len() as f64),
                questions: results.len() as u64,
            });
        }
        shown.push(GroupResult {
            respondents: respondents.len() as u64,
            response_rate: headcount
                .filter(|h| *h > 0)
                .map(|h| respondents.len() as f64 / h as f64),
            headcount,
            dimensions,
            questions,
            comments: shuffled(survey_id, comments),
            group,
        });
    }
    Ok(SurveyResults {
        survey_id: survey_id.to_string(),
        title: definition.title.clone(),
        threshold: threshold.get(),
        groups: shown,
        hidden,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// A question id, or a dimension name.
    pub measure: String,
    pub n_a: u64,
    pub n_b: u64,
    pub mean_a: f64,
    pub mean_b: f64,
    /// mean(b) - mean(a); dimension changes are on the 0-100 scale.
    pub difference: f64,
    pub interval: [f64; 2],
    pub p_value: f64,
    pub significant: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupComparison {
    pub group: String,
    pub dimensions: Vec<Change>,
    pub questions: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyComparison {
    pub a: String,
    pub b: String,
    pub threshold: u32,
    pub groups: Vec<GroupComparison>,
    pub hidden: Vec<HiddenGroup>,
}

fn change(measure: &str, a: &[f64], b: &[f64]) -> Option<Change> {
    let test = welch(a, b)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Some(Change {
        measure: measure.to_string(),
        n_a: a.len() as u64,
        n_b: b.len() as u64,
        mean_a: mean(a),
        mean_b: mean(b),
        difference: test.difference,
        interval: [test.interval.0, test.interval.1],
        p_value: test.p_value,
        significant: test.p_value < 0.05,
    })
}

/// Each respondent's score of a dimension (0-100): the mean of their
/// answers to its questions.
fn dimension_scores(
    wave: &Wave,
    definition: &SurveyDefinition,
    dimension: &str,
    respondents: &BTreeSet<String>,
) -> Vec<f64> {
    let mut per: HashMap<&str, Vec<f64>> = HashMap::new();
    for q in definition
        .questions
        .iter()
        .filter(|q| q.dimension == dimension && q.kind.range().is_some())
    {
        for (r, (n, _)) in wave.answers.get(&q.id).into_iter().flatten() {
            if let (true, Some(v)) = (
                respondents.contains(r),
                n.and_then(|n| normalized(q.kind, n)),
            ) {
                per.entry(r.as_str()).or_default().push(v);
            }
        }
    }
    let mut scores: Vec<f64> = per
        .values()
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        .collect();
    scores.sort_by(f64::total_cmp);
    scores
}

/// Compares two waves for a group and, with `children`, its subgroups.
pub async fn compare(
    queries: &LakeQueries,
    definition: &SurveyDefinition,
    a: &str,
    b: &str,
    group: Option<&str>,
    children: bool,
    threshold: AnonymityThreshold,
) -> Result<SurveyComparison> {
    let (wave_a, wave_b) = (load_wave(queries, a).await?, load_wave(queries, b).await?);
    let prepared = prepare(queries, &[&wave_a, &wave_b]).await?;
    let groups = asked(&prepared.tree, group, children)?;
    let visible = |wave: &Wave, question: &str, group: &str| {
        prepared
            .visibility(wave, Some(question), threshold)
            .get(group)
            == Some(&Visibility::Shown)
    };
    let mut out = Vec::new();
    let mut hidden = Vec::new();
    for group in groups {
        let (va, vb) = (
            prepared.visibility(&wave_a, None, threshold)[&group],
            prepared.visibility(&wave_b, None, threshold)[&group],
        );
        if va != Visibility::Shown || vb != Visibility::Shown {
            let v = if va != Visibility::Shown { va } else { vb };
            hidden.push(HiddenGroup {
                reason: format!("in one of the waves: {}", reason(v, threshold.get())),
                group,
            });
            continue;
        }
        let (ra, rb) = (
            prepared.members(&wave_a, &group),
            prepared.members(&wave_b, &group),
        );
        let mut questions = Vec::new();
        let mut dimension_ok: BTreeMap<&str, bool> = BTreeMap::new();
        for q in definition
            .questions
            .iter()
            .filter(|q| q.kind.range().is_some())
        {
            let ok = visible(&wave_a, &q.id, &group) && visible(&wave_b, &q.id, &group);
            *dimension_ok.entry(q.dimension.as_str()).or_insert(true) &= ok;
            if !ok {
                continue;
            }
            if let Some(c) = change(
                &q.id,
                &numeric_answers(&wave_a, &q.id, &ra),
                &numeric_answers(&wave_b, &q.id, &rb),
            ) {
                questions.push(c);
            }
        }
        let dimensions = dimension_ok
            .into_iter()
            .filter(|(_, ok)| *ok)
            .filter_map(|(d, _)| {
                change(
                    d,
                    &dimension_scores(&wave_a, definition, d, &ra),
                    &dimension_scores(&wave_b, definition, d, &rb),
                )
            })
            .collect();
        out.push(GroupComparison {
            group,
            dimensions,
            questions,
        });
    }
    Ok(SurveyComparison {
        a: a.to_string(),
        b: b.to_string(),
        threshold: threshold.get(),
        groups: out,
        hidden,
    })
}

/// The survey waves in the lake: id, respondents, first and last submission.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyWave {
    pub survey_id: String,
    pub respondents: u64,
    pub first_submitted_at: Option<String>,
    pub last_submitted_at: Option<String>,
}

pub async fn waves(queries: &LakeQueries) -> Result<Vec<SurveyWave>> {
    let result = queries
        .read_only_sql(
            "SELECT survey_id, count(DISTINCT respondent) AS respondents, \
             CAST(min(submitted_at) AS VARCHAR) AS first_at, CAST(max(submitted_at) AS VARCHAR) AS last_at \
             FROM survey_responses GROUP BY survey_id ORDER BY survey_id",
        )
        .await?;
    let c = Columns::new(&result.batches);
    let (ids, n, first, last) = (
        c.text("survey_id")?,
        c.int("respondents")?,
        c.text("first_at")?,
        c.text("last_at")?,
    );
    Ok((0..c.len())
        .filter_map(|i| {
            Some(SurveyWave {
                survey_id: ids[i].clone()?,
                respondents: n[i].unwrap_or(0) as u64,
                first_submitted_at: first[i].clone(),
                last_submitted_at: last[i].clone(),
            })
        })
        .collect())
}

/// One team's perceived (survey dimension scores) and measured (DevEx
/// workflow measures over the 90 days before the wave closed) experience.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PerceivedAndMeasured {
    pub team: String,
    pub respondents: u64,
    /// Dimension -> score (0-100), only where the team's results are shown.
    pub perceived: BTreeMap<String, f64>,
    pub measured: Option<analytics::devex::DevexMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PerceivedVsMeasured {
    pub survey_id: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub threshold: u32,
    pub teams: Vec<PerceivedAndMeasured>,
    pub hidden: Vec<HiddenGroup>,
}

/// Perceived against measured, per team: the wave's dimension scores beside
/// the DevEx measures of the 90 days up to the wave's last answer. Teams the
/// anonymity rules hide show neither.
pub async fn perceived_vs_measured(
    queries: &LakeQueries,
    definition: &SurveyDefinition,
    survey_id: &str,
    threshold: AnonymityThreshold,
    devex: analytics::devex::DevexSettings,
    dora: analytics::dora::DoraSettings,
) -> Result<PerceivedVsMeasured> {
    let Some(wave) = waves(queries)
        .await?
        .into_iter()
        .find(|w| w.survey_id == survey_id)
    else {
        return Err(unknown_survey(queries, survey_id).await);
    };
    let Some(last) = wave
        .last_submitted_at
        .as_deref()
        .and_then(|t| t.get(..10))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return Err(unknown_survey(queries, survey_id).await);
    };
    let to = last + chrono::Days::new(1);
    let from = to - chrono::Days::new(90);
    let request = analytics::devex::DevexRequest::parse(
        &from.to_string(),
        &to.to_string(),
        None,
        None,
        None,
        Some("team"),
        devex,
        dora,
    )?;
    let measured = analytics::devex::report(queries, &request).await?;
    // Teams are the leaves of the catalog's hierarchy, plus teams only the
    // answers name.
    let teams_in_catalog: Vec<String> = {
        let answers = load_wave(queries, survey_id).await?;
        let prepared = prepare(queries, &[&answers]).await?;
        let tree = &prepared.tree;
        tree.groups()
            .into_iter()
            .filter(|g| g != ORGANISATION && tree.children(g).is_empty())
            .collect()
    };
    let mut teams = Vec::new();
    let mut hidden = Vec::new();
    for team in teams_in_catalog {
        let shown = results(
            queries,
            definition,
            survey_id,
            Some(&team),
            false,
            threshold,
        )
        .await?;
        match shown.groups.into_iter().next() {
            Some(group) => teams.push(PerceivedAndMeasured {
                perceived: group
                    .dimensions
                    .iter()
                    .map(|d| (d.dimension.clone(), d.score))
                    .collect(),
                respondents: group.respondents,
                measured: measured
                    .groups
                    .iter()
                    .find(|g| g.key.label() == Some(team.as_str()))
                    .map(|g| g.metrics.clone()),
                team,
            }),
            None => hidden.extend(shown.hidden),
        }
    }
    Ok(PerceivedVsMeasured {
        survey_id: survey_id.to_string(),
        from,
        to,
        threshold: threshold.get(),
        teams,
        hidden,
    })
}
