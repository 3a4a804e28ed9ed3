//! The report and the series: the counts of every cell, turned into metrics.

use super::*;

/// The DORA report for a window: one entry per group with deployments in it,
/// and everything together.
pub async fn report(queries: &LakeQueries, request: &DoraRequest) -> Result<DoraReport> {
    request.validate()?;
    let levels = ReportLevels::load(
        request.settings.levels_file.as_deref(),
        request.settings.levels_year,
    )?
    .with_minimum(request.settings.min_deployments_for_level);
    let sql = DoraSql::prepare(queries, request, None).await?;
    // The levels as loaded, not only their file name: an edited file is a new question.
    let asked = format!("report {request:?} {levels:?}");
    if let Some(report) = queries.remembered::<DoraReport>(&sql.context, &asked) {
        return Ok(report);
    }
    let days = request.days();
    let cells = match request.group_by {
        GroupBy::None => None,
        by => Some(counts(queries, &sql, group_column(by), NO_PERIOD).await?),
    };
    let by_service = cells
        .as_ref()
        .filter(|_| request.group_by == GroupBy::Service);
    let rates = ServiceRates::load(queries, &sql, NO_PERIOD, by_service, request.group_by).await?;
    let mut groups = Vec::new();
    if let Some(cells) = cells {
        for ((key, _), cell) in cells {
            let members = rates.members(request.group_by, key.as_deref());
            let median = rates.median(&members, None, days);
            if let Some(key) = group_key(request.group_by, key) {
                groups.push(DoraGroup {
                    key,
                    metrics: cell.metrics(days, median, &levels),
                });
            }
        }
    }
    let overall = counts(queries, &sql, group_column(GroupBy::None), NO_PERIOD)
        .await?
        .into_values()
        .next()
        .unwrap_or_default()
        .metrics(
            days,
            rates.median(&rates.members(GroupBy::None, None), None, days),
            &levels,
        );
    let report = DoraReport {
        from: request.from,
        data_as_of: crate::freshness::of_answer(queries, &sql.context, &crate::derive::DORA_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        days,
        production_pattern: request.settings.production_pattern.clone(),
        levels_source: levels.source.clone(),
        ownership: OWNERSHIP_RULE,
        groups,
        overall,
    };
    let bytes = (report.groups.len() + 1) * ANSWER_ENTRY_BYTES;
    queries.remember(&sql.context, &asked, report.clone(), bytes);
    Ok(report)
}

/// Approximate size of one group or point of an answer, for the budget of
/// remembered answers.
pub(super) const ANSWER_ENTRY_BYTES: usize = 512;

/// One period of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// The week's Monday or the month's first day.
    pub start: NaiveDate,
    /// Its part inside the window: first day, and the day after the last.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The window cuts it, or it is not over on `today`: its numbers cover
    /// less than a period and are never graded.
    pub partial: bool,
}

/// The periods (weeks from Monday, or calendar months) that cover the
/// window, each clipped to it; `today` is the local date, to mark the
/// period still running partial.
pub(crate) fn periods(
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
    today: NaiveDate,
) -> Vec<Period> {
    let mut out = Vec::new();
    let mut start = match granularity {
        Granularity::Week => from - Days::new(from.weekday().num_days_from_monday() as u64),
        Granularity::Month => from.with_day(1).unwrap_or(from),
    };
    while start < to {
        let next = match granularity {
            Granularity::Week => start + Days::new(7),
            Granularity::Month => start + Months::new(1),
        };
        out.push(Period {
            start,
            from: start.max(from),
            to: next.min(to),
            partial: start < from || to < next || today < next,
        });
        start = next;
    }
    out
}

/// The DORA metrics per week or month of the window (every period present,
/// empty ones with zero deployments), per group when grouped.
/// The most points (periods times groups) a series answers.
pub const MAX_SERIES_POINTS: usize = 100_000;

pub async fn series(
    queries: &LakeQueries,
    request: &DoraRequest,
    granularity: Granularity,
) -> Result<DoraSeries> {
    request.validate()?;
    let levels = ReportLevels::load(
        request.settings.levels_file.as_deref(),
        request.settings.levels_year,
    )?
    .with_minimum(request.settings.min_deployments_for_level);
    let sql = DoraSql::prepare(queries, request, Some(granularity)).await?;
    let cells = counts(
        queries,
        &sql,
        group_column(request.group_by),
        "period_start",
    )
    .await?;
    let by_service = (request.group_by == GroupBy::Service).then_some(&cells);
    let rates =
        ServiceRates::load(queries, &sql, "period_start", by_service, request.group_by).await?;
    let mut by_group: BTreeMap<Option<String>, HashMap<NaiveDate, (i64, Counts)>> = BTreeMap::new();
    for ((key, period), cell) in cells {
        let Some(period_micros) = period else {
            continue;
        };
        let Some(period) = micros_to_local_date(period_micros) else {
            continue;
        };
        by_group
            .entry(key)
            .or_default()
            .insert(period, (period_micros, cell));
    }
    if by_group.is_empty() {
        by_group.insert(None, HashMap::new());
    }
    let today = Utc::now().with_timezone(&request.tz).date_naive();
    let period_count = periods(request.from, request.to, granularity, today).len();
    let asked = period_count * by_group.len();
    if asked > MAX_SERIES_POINTS {
        return Err(Error::invalid_parameter(
            "granularity",
            format!(
                "{period_count} periods x {} groups = {asked} points; a series holds at most {MAX_SERIES_POINTS}: narrow the window, use granularity=month, or filter by team or service",
                by_group.len()
            ),
        ));
    }
    let mut points = Vec::new();
    for (key, cells) in by_group {
        let members = rates.members(request.group_by, key.as_deref());
        for Period {
            start: period,
            from: start,
            to: end,
            partial,
        } in periods(request.from, request.to, granularity, today)
        {
            let days = (end - start).num_days();
            let (period_micros, cell) = cells
                .get(&period)
                .cloned()
                .unwrap_or_else(|| (local_date_micros(period), Counts::default()));
            let median = rates.median(&members, Some(period_micros), days);
            let mut metrics = cell.metrics(days, median, &levels);
            if partial {
                metrics.levels = Levels::default();
            }
            points.push(SeriesPoint {
                key: group_key(request.group_by, key.clone()),
                period_start: start,
                period_end: end,
                partial,
                metrics,
            });
        }
    }
    Ok(DoraSeries {
        from: request.from,
        data_as_of: crate::freshness::of_answer(queries, &sql.context, &crate::derive::DORA_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        granularity,
        group_by: request.group_by,
        levels_source: levels.source,
        ownership: OWNERSHIP_RULE,
        points,
    })
}

/// A local date as the period keys of the SQL (local midnight, as if UTC).
pub(super) fn local_date_micros(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros()
}

pub(super) fn micros_to_local_date(micros: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.date_naive())
}

pub(super) fn micros_to_utc(micros: Option<i64>) -> Option<DateTime<Utc>> {
    micros.and_then(DateTime::<Utc>::from_timestamp_micros)
}
