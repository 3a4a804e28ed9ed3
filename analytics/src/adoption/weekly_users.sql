-- weekly_users: distinct users of each tool in each ISO week of the window,
-- for charts of adoption over time.
--
-- The same event rules as active_users.sql (devex's adoption contract): an
-- event counts in the window [from, to) that holds its `at`, in the ISO week
-- (Monday first) of its local time in the report's time zone ({{tz}}); a
-- week at an edge of the window counts only its days inside it. A week in
-- which a tool had no users has no row (Rust shows it as 0).
--
-- Template values (filled in by analytics::adoption): from, to, tz.
SELECT tool,
       date_trunc('week', to_local_time(at AT TIME ZONE '{{tz}}')) AS week,
       count(DISTINCT "user") AS users
FROM platform_usage
WHERE at >= {{from}} AND at < {{to}}
GROUP BY tool, date_trunc('week', to_local_time(at AT TIME ZONE '{{tz}}'))
