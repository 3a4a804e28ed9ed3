//! Utilization per team or tool (`ai_utilization.sql`), the share of developers
//! active (`ai_headcount.sql`) and of merged pull requests AI-assisted, with
//! the privacy rule applied to every group, tool and surface shown.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::pull_requests::PullRequestRow;
use super::request::sql_date;
use super::{AiGroup, AiGroupBy, AiKey, AiMeasures, AiRequest, PeopleOf, USAGE_DAYS};
use crate::columns::Columns;
use crate::error::Result;
use crate::privacy::{hidden_beyond, hidden_groups, Hidden};
use crate::template::fill;
use crate::LakeQueries;

const USAGE: &str = include_str!("ai_utilization.sql");
const USAGE_PEOPLE: &str = include_str!("ai_usage_people.sql");
const HEADCOUNT: &str = include_str!("ai_headcount.sql");
const USAGE_TEAMS: &str = include_str!("ai_usage_teams.sql");

/// The use of one tool (in a team, or in the organisation) or of one
/// surface of a tool.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AiUse {
    /// The tool or the surface.
    pub name: String,
    pub active_users: Option<u64>,
    pub dau_mean: Option<f64>,
    pub wau_mean: Option<f64>,
    pub acceptance_rate: Option<f64>,
    pub suggestions: Option<u64>,
    pub line_acceptance_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    /// A tool's surfaces (`ide`, `chat`, `cli`, `agent`, `code_review`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub surfaces: Vec<AiUse>,
}

/// Who was AI-active, per scope (team, '' for the organisation), tool and
/// surface. Never leaves this module's callers.
#[derive(Debug, Default)]
pub(super) struct People {
    by_scope: BTreeMap<String, BTreeMap<(String, String), BTreeSet<String>>>,
}

impl People {
    /// Everyone AI-active in a scope.
    pub(super) fn all(&self, scope: &str) -> BTreeSet<String> {
        self.by_scope
            .get(scope)
            .map(|uses| uses.values().flatten().cloned().collect())
            .unwrap_or_default()
    }

    /// A scope's people per tool.
    fn tools(&self, scope: &str) -> PeopleOf {
        let mut out = PeopleOf::new();
        for ((tool, _), people) in self.by_scope.get(scope).into_iter().flatten() {
            out.entry(tool.clone())
                .or_default()
                .extend(people.iter().cloned());
        }
        out
    }

    /// A scope's people of one tool, per surface.
    fn surfaces(&self, scope: &str, tool: &str) -> PeopleOf {
        self.by_scope
            .get(scope)
            .into_iter()
            .flatten()
            .filter(|((t, _), _)| t == tool)
            .map(|((_, surface), people)| (surface.clone(), people.clone()))
            .collect()
    }

    pub(super) fn teams(&self) -> impl Iterator<Item = &String> {
        self.by_scope.keys().filter(|k| !k.is_empty())
    }
}

/// The template values of the usage files.
pub(super) fn usage_values(request: &AiRequest) -> Result<Vec<(&'static str, String)>> {
    let days = [
        ("from_day", sql_date(request.from)),
        ("to_day", sql_date(request.to)),
    ];
    let usage_days = fill(USAGE_DAYS, &days)?;
    Ok(vec![(
        "usage_teams",
        fill(USAGE_TEAMS, &[("usage_days", usage_days)])?,
    )])
}

pub(super) async fn people(queries: &LakeQueries, request: &AiRequest) -> Result<People> {
    let result = queries
        .read_only_sql(&fill(USAGE_PEOPLE, &usage_values(request)?)?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut people = People::default();
    for (((team, user), tool), surface) in c
        .text("team")?
        .into_iter()
        .zip(c.text("user")?)
        .zip(c.text("tool")?)
        .zip(c.text("surface")?)
    {
        let (Some(team), Some(user), Some(tool), Some(surface)) = (team, user, tool, surface)
        else {
            continue;
        };
        people
            .by_scope
            .entry(team)
            .or_default()
            .entry((tool, surface))
            .or_default()
            .insert(user);
    }
    Ok(people)
}

/// One row of ai_utilization.sql.
#[derive(Debug, Clone, Copy, Default)]
struct UseNumbers {
    active_users: u64,
    user_days: f64,
    user_weeks: f64,
    suggestions: Option<u64>,
    acceptances: Option<u64>,
    lines_suggested: Option<u64>,
    lines_accepted: Option<u64>,
}

fn ratio(part: Option<u64>, whole: Option<u64>) -> Option<f64> {
    match (part, whole) {
        (Some(part), Some(whole)) if whole > 0 => Some(part as f64 / whole as f64),
        _ => None,
    }
}

type UseKey = (String, Option<String>, Option<String>);

async fn numbers(
    queries: &LakeQueries,
    request: &AiRequest,
) -> Result<BTreeMap<UseKey, UseNumbers>> {
    let result = queries
        .read_only_sql(&fill(USAGE, &usage_values(request)?)?)
        .await?;
    let c = Columns::new(&result.batches);
    let counts = |name: &str| -> Result<Vec<Option<u64>>> {
        Ok(c.int(name)?
            .into_iter()
            .map(|v| v.map(|v| v.max(0) as u64))
            .collect())
    };
    let (suggestions, acceptances) = (counts("suggestions")?, counts("acceptances")?);
    let (lines_suggested, lines_accepted) = (counts("lines_suggested")?, counts("lines_accepted")?);
    let (users, days, weeks) = (
        counts("active_users")?,
        counts("user_days")?,
        counts("user_weeks")?,
    );
    let mut out = BTreeMap::new();
    for (i, ((team, tool), surface)) in c
        .text("team")?
        .into_iter()
        .zip(c.text("tool")?)
        .zip(c.text("surface")?)
        .enumerate()
    {
        out.insert(
            (team.unwrap_or_default(), tool, surface),
            UseNumbers {
                active_users: users[i].unwrap_or(0),
                user_days: days[i].unwrap_or(0) as f64,
                user_weeks: weeks[i].unwrap_or(0) as f64,
                suggestions: suggestions[i],
                acceptances: acceptances[i],
                lines_suggested: lines_suggested[i],
                lines_accepted: lines_accepted[i],
            },
        );
    }
    Ok(out)
}

/// Developers per team, and the organisation's under ''.
async fn headcounts(queries: &LakeQueries, request: &AiRequest) -> Result<BTreeMap<String, u64>> {
    let result = queries
        .read_only_sql(&fill(
            HEADCOUNT,
            &request.instants(request.from, request.to),
        )?)
        .await?;
    let c = Columns::new(&result.batches);
    Ok(c.text("team")?
        .into_iter()
        .zip(c.int("developers")?)
        .map(|(team, n)| (team.unwrap_or_default(), n.unwrap_or(0).max(0) as u64))
        .collect())
}

impl AiRequest {
    fn per_day(&self, n: f64) -> f64 {
        n / self.days() as f64
    }

    fn per_week(&self, n: f64) -> f64 {
        n / self.weeks() as f64
    }
}

fn use_of(request: &AiRequest, name: &str, numbers: Option<&UseNumbers>) -> AiUse {
    let n = numbers.copied().unwrap_or_default();
    AiUse {
        name: name.to_string(),
        active_users: Some(n.active_users),
        dau_mean: Some(request.per_day(n.user_days)),
        wau_mean: Some(request.per_week(n.user_weeks)),
        acceptance_rate: ratio(n.acceptances, n.suggestions),
        suggestions: n.suggestions,
        line_acceptance_rate: ratio(n.lines_accepted, n.lines_suggested),
        hidden_reason: None,
        surfaces: Vec::new(),
    }
}

fn hidden_use(name: &str, why: Hidden, min: usize) -> AiUse {
    AiUse {
        name: name.to_string(),
        active_users: None,
        dau_mean: None,
        wau_mean: None,
        acceptance_rate: None,
        suggestions: None,
        line_acceptance_rate: None,
        hidden_reason: Some(why.reason(min, "AI-active people")),
        surfaces: Vec::new(),
    }
}

/// Merged and AI-assisted pull requests among `prs`.
fn pr_counts<'a>(prs: impl Iterator<Item = &'a PullRequestRow>, tool: Option<&str>) -> (u64, u64) {
    let mut merged = 0;
    let mut assisted = 0;
    for pr in prs {
        merged += 1;
        let counts = match tool {
            Some(tool) => pr.ai_tool.as_deref() == Some(tool),
            None => pr.ai_tool.is_some(),
        };
        assisted += u64::from(counts);
    }
    (merged, assisted)
}

fn measures(
    request: &AiRequest,
    numbers: Option<&UseNumbers>,
    developers: Option<u64>,
    (merged, assisted): (u64, u64),
) -> AiMeasures {
    let mut u = use_of(request, "", numbers);
    // How a few people use their assistant is their own: with fewer
    // AI-active people than the minimum, only how many are active shows.
    if u.active_users
        .is_some_and(|n| n > 0 && (n as usize) < request.min_group_size())
    {
        u.dau_mean = None;
        u.wau_mean = None;
        u.acceptance_rate = None;
        u.suggestions = None;
        u.line_acceptance_rate = None;
    }
    AiMeasures {
        ai_active_users: u.active_users,
        ai_active_share: ratio(u.active_users, developers),
        developers,
        dau_mean: u.dau_mean,
        wau_mean: u.wau_mean,
        acceptance_rate: u.acceptance_rate,
        suggestions: u.suggestions,
        line_acceptance_rate: u.line_acceptance_rate,
        merged_prs: Some(merged),
        ai_assisted_prs: Some(assisted),
        ai_assisted_pr_share: ratio(Some(assisted), Some(merged)),
        hidden_reason: None,
    }
}

/// Each of `scope`'s tools, with its surfaces, as far as the privacy rule
/// lets them show: each needs the minimum of people, and what the shown
/// ones leave of the scope's (or the tool's) people must be none or at
/// least the minimum.
fn uses(
    request: &AiRequest,
    numbers: &BTreeMap<UseKey, UseNumbers>,
    people: &super::usage::People,
    scope: &str,
) -> Vec<AiUse> {
    let min = request.min_group_size();
    let tools = people.tools(scope);
    let hidden_tools = hidden_groups(&tools, &|_| None, &people.all(scope), min);
    tools
        .iter()
        .map(|(tool, tool_people)| {
            if let Some(why) = hidden_tools.get(tool) {
                return hidden_use(tool, *why, min);
            }
            let key = (scope.to_string(), Some(tool.clone()), None);
            let mut tool_use = use_of(request, tool, numbers.get(&key));
            let surfaces = people.surfaces(scope, tool);
            let hidden_surfaces = hidden_groups(&surfaces, &|_| None, tool_people, min);
            tool_use.surfaces = surfaces
                .keys()
                .map(|surface| match hidden_surfaces.get(surface) {
                    Some(why) => hidden_use(surface, *why, min),
                    None => {
                        let key = (scope.to_string(), Some(tool.clone()), Some(surface.clone()));
                        use_of(request, surface, numbers.get(&key))
                    }
                })
                .collect();
            tool_use
        })
        .collect()
}

/// The groups of the request's grouping, and the organisation's measures.
pub(super) async fn groups(
    queries: &LakeQueries,
    request: &AiRequest,
    people: &People,
    prs: &[PullRequestRow],
) -> Result<(Vec<AiGroup>, AiMeasures, BTreeSet<String>)> {
    let min = request.min_group_size();
    let numbers = numbers(queries, request).await?;
    let headcounts = headcounts(queries, request).await?;
    let everyone = people.all("");
    let organisation_shown = everyone.is_empty() || everyone.len() >= min;
    let overall = match organisation_shown {
        true => measures(
            request,
            numbers.get(&(String::new(), None, None)),
            headcounts.get("").copied(),
            pr_counts(prs.iter(), None),
        ),
        false => AiMeasures::hidden(Hidden::TooFew.reason(min, "AI-active people")),
    };
    // Teams too small by headcount, and teams whose AI-active people,
    // shown, would leave a few of the hidden teams' to work out by
    // difference.
    let mut teams: BTreeSet<String> = headcounts
        .keys()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    teams.extend(people.teams().cloned());
    teams.extend(prs.iter().filter_map(|pr| pr.team.clone()));
    let members: PeopleOf = teams.iter().map(|t| (t.clone(), people.all(t))).collect();
    let too_few = teams
        .iter()
        .filter(|t| headcounts.get(*t).is_none_or(|n| (*n as usize) < min))
        .map(|t| (t.clone(), Hidden::TooFew))
        .collect();
    let hidden = hidden_beyond(
        &members,
        &|_| None,
        &everyone,
        min,
        too_few,
        organisation_shown,
    );
    let shown_teams: BTreeSet<String> = teams
        .iter()
        .filter(|t| !hidden.contains_key(*t))
        .cloned()
        .collect();
    let groups = match request.group_by {
        AiGroupBy::Team => teams
            .into_iter()
            .filter(|team| request.team.as_ref().is_none_or(|t| t == team))
            .map(|team| {
                let (measures, uses) = match hidden.get(&team) {
                    Some(why) => (
                        AiMeasures::hidden(why.reason(min, "developers")),
                        Vec::new(),
                    ),
                    None => (
                        measures(
                            request,
                            numbers.get(&(team.clone(), None, None)),
                            headcounts.get(&team).copied(),
                            pr_counts(
                                prs.iter().filter(|pr| pr.team.as_ref() == Some(&team)),
                                None,
                            ),
                        ),
                        uses(request, &numbers, people, &team),
                    ),
                };
                AiGroup {
                    key: AiKey::Team(team),
                    measures,
                    uses,
                }
            })
            .collect(),
        AiGroupBy::Tool => {
            // The organisation's tools, or those of the team asked for
            // (none of a hidden team's).
            if let Some(why) = request.team.as_ref().and_then(|t| hidden.get(t)) {
                let group = AiGroup {
                    key: AiKey::Tool(String::new()),
                    measures: AiMeasures::hidden(why.reason(min, "developers")),
                    uses: Vec::new(),
                };
                return Ok((vec![group], overall, shown_teams));
            }
            let scope = request.team.clone().unwrap_or_default();
            let developers = headcounts.get(&scope).copied();
            let scoped_prs = || {
                prs.iter()
                    .filter(|pr| request.team.is_none() || pr.team == request.team)
            };
            let mut groups: Vec<AiGroup> = uses(request, &numbers, people, &scope)
                .into_iter()
                .map(|tool_use| {
                    let measures = match &tool_use.hidden_reason {
                        Some(why) => AiMeasures::hidden(why.clone()),
                        None => measures(
                            request,
                            numbers.get(&(scope.clone(), Some(tool_use.name.clone()), None)),
                            developers,
                            pr_counts(scoped_prs(), Some(&tool_use.name)),
                        ),
                    };
                    AiGroup {
                        key: AiKey::Tool(tool_use.name.clone()),
                        measures,
                        uses: tool_use.surfaces,
                    }
                })
                .collect();
            // Tools only pull requests name (a label, an agent without
            // usage reports): no one's use to show, only their share.
            let named: BTreeSet<String> =
                scoped_prs().filter_map(|pr| pr.ai_tool.clone()).collect();
            for tool in named {
                if groups.iter().any(|g| g.key.label() == tool) {
                    continue;
                }
                groups.push(AiGroup {
                    measures: measures(
                        request,
                        None,
                        developers,
                        pr_counts(scoped_prs(), Some(&tool)),
                    ),
                    key: AiKey::Tool(tool),
                    uses: Vec::new(),
                });
            }
            groups.sort_by(|a, b| a.key.cmp(&b.key));
            groups
        }
    };
    Ok((groups, overall, shown_teams))
}
