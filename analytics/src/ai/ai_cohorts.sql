-- ai_cohorts: each team's developers per month by how many days they used an
-- AI assistant (usage cohorts).
--
-- Implements the usage cohorts of the DX AI Measurement Framework (DX,
-- 2025: comparing groups by how much they use AI, not people), as devex's
-- AI contract states them:
-- * the months are the calendar months (UTC, as usage days are) the window
--   touches, each cut to the window's days ({{months}}: month, first day,
--   day after the last);
-- * a developer counts in a team's month when their membership overlaps
--   it (valid_from before its end, valid_to null or after its start);
-- * active_days: the days of the month (in the window) they were
--   AI-active (ai_usage_days.sql);
-- * cohort: none (0 days), light (at least {{light}}), moderate (at least
--   {{moderate}}), heavy (at least {{heavy}}) — `[ai] cohort_days`.
--
-- Template values (filled in by analytics::ai): usage_days, months, light,
-- moderate, heavy.
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
    SELECT mb.team, mb.developer, mb.month, count(DISTINCT u.day) AS active_days
    FROM members mb
    LEFT JOIN usage u
      ON u."user" = mb.developer AND u.day >= mb.first_day AND u.day < mb.end_day
    GROUP BY mb.team, mb.developer, mb.month
)
SELECT team, month,
       CASE WHEN active_days >= {{heavy}} THEN 'heavy'
            WHEN active_days >= {{moderate}} THEN 'moderate'
            WHEN active_days >= {{light}} THEN 'light'
            ELSE 'none' END AS cohort,
       count(*) AS developers
FROM active
GROUP BY 1, 2, 3
