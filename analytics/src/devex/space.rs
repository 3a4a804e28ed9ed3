//! SPACE activity and collaboration per team.

use super::*;

/// SPACE activity and collaboration of one team.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpaceMetrics {
    pub developers: u64,
    pub merged_prs: Option<u64>,
    pub merged_prs_per_developer_week: Option<f64>,
    pub reviewing_developers: Option<u64>,
    pub review_participation: Option<f64>,
    /// Reviews submitted on the team's repositories.
    pub reviews: u64,
    pub reviewers: u64,
    pub reviewer_gini: Option<f64>,
    pub cross_team_review_share: Option<f64>,
    pub people_measures_hidden: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpaceGroup {
    pub team: Option<String>,
    #[serde(flatten)]
    pub metrics: SpaceMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpaceReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub min_group_size: usize,
    pub groups: Vec<SpaceGroup>,
}

/// SPACE activity and collaboration per team.
pub async fn space(queries: &LakeQueries, request: &DevexRequest) -> Result<SpaceReport> {
    request.validate()?;
    request.check_filters(queries).await?;
    let context = materialize(queries, request).await?;
    let values = request.values();
    let members = membership(queries, &context, &values).await?;
    let mut groups: BTreeMap<String, SpaceMetrics> = BTreeMap::new();

    let reviews = queries
        .metric_sql_on(&context, &fill(SPACE_REVIEWS, &values)?, false)
        .await?;
    let c = Columns::new(&reviews.batches);
    let mut per_reviewer: HashMap<String, Vec<f64>> = HashMap::new();
    let mut cross: HashMap<String, u64> = HashMap::new();
    for ((team, count), cross_team) in c
        .text("team")?
        .into_iter()
        .zip(c.int("reviews")?)
        .zip(c.int("cross_team_reviews")?)
    {
        let Some(team) = team else { continue };
        per_reviewer
            .entry(team.clone())
            .or_default()
            .push(count.unwrap_or(0) as f64);
        *cross.entry(team).or_default() += cross_team.unwrap_or(0) as u64;
    }
    let people = queries
        .metric_sql_on(&context, &fill(SPACE_PEOPLE, &values)?, false)
        .await?;
    let c = Columns::new(&people.batches);
    let mut activity: HashMap<String, (u64, u64)> = HashMap::new();
    for ((team, merged), reviewing) in c
        .text("team")?
        .into_iter()
        .zip(c.int("merged_prs")?)
        .zip(c.int("reviewing_developers")?)
    {
        if let Some(team) = team {
            activity.insert(
                team,
                (merged.unwrap_or(0) as u64, reviewing.unwrap_or(0) as u64),
            );
        }
    }

    let mut teams: BTreeSet<String> = members.developers.keys().cloned().collect();
    teams.extend(per_reviewer.keys().cloned());
    if let Some(only) = &request.team {
        teams.retain(|t| t == only);
    }
    let weeks = request.days() as f64 / 7.0;
    for team in teams {
        let m = groups.entry(team.clone()).or_default();
        let developers = members.developers.get(&team).copied().unwrap_or(0);
        m.developers = developers;
        let counts = per_reviewer.get(&team).cloned().unwrap_or_default();
        m.reviews = counts.iter().sum::<f64>() as u64;
        m.reviewers = counts.len() as u64;
        m.cross_team_review_share = (m.reviews > 0)
            .then(|| cross.get(&team).copied().unwrap_or(0) as f64 / m.reviews as f64);
        if (developers as usize) < request.settings.min_group_size {
            m.people_measures_hidden = Some(format!(
                "the team had {developers} developers in the window; people measures need at least {}",
                request.settings.min_group_size
            ));
            continue;
        }
        // A coefficient over fewer reviewers than the group size would say
        // too much about each of them.
        if counts.len() >= request.settings.min_group_size {
            m.reviewer_gini = stats::gini(&counts);
        }
        let (merged, reviewing) = activity.get(&team).copied().unwrap_or((0, 0));
        m.merged_prs = Some(merged);
        m.merged_prs_per_developer_week = Some(merged as f64 / (developers as f64 * weeks));
        m.reviewing_developers = Some(reviewing);
        m.review_participation = Some(reviewing as f64 / developers as f64);
    }
    Ok(SpaceReport {
        from: request.from,
        data_as_of: crate::freshness::of_answer(queries, &context, &crate::derive::DEVEX_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        min_group_size: request.settings.min_group_size,
        groups: groups
            .into_iter()
            .map(|(team, metrics)| SpaceGroup {
                team: Some(team),
                metrics,
            })
            .collect(),
    })
}
