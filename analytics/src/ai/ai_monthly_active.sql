-- monthly_active: per team and calendar month, its developers and how many
-- of them were AI-active, for the rollout month.
--
-- Rule (devex's AI contract): a team's rollout month is the first month in
-- which at least half its developers were AI-active (a day of use, as
-- ai_usage_days.sql counts it, in the month, UTC); a developer counts in the
-- months their membership overlaps. Rust finds the month.
--
-- Template values (filled in by analytics::ai): usage_days, months.
WITH usage AS ({{usage_days}}),
months AS (
    SELECT * FROM (VALUES {{months}}) AS t(month, first_day, end_day)
),
members AS (
    SELECT DISTINCT m.team, m.developer, months.month, months.first_day, months.end_day
    FROM team_members m
    CROSS JOIN months
    WHERE m.valid_from < arrow_cast(CAST(months.end_day AS TIMESTAMP), 'Timestamp(µs, "UTC")')
      AND (m.valid_to IS NULL OR m.valid_to > arrow_cast(CAST(months.first_day AS TIMESTAMP), 'Timestamp(µs, "UTC")'))
),
active AS (
    SELECT DISTINCT "user", date_trunc('month', day) AS month FROM usage
)
SELECT mb.team, mb.month, count(*) AS developers, count(a."user") AS active
FROM members mb
LEFT JOIN active a
  ON a."user" = mb.developer AND a.month = arrow_cast(CAST(mb.month AS TIMESTAMP), 'Timestamp(ns)')
GROUP BY mb.team, mb.month
