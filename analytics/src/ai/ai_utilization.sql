-- ai_utilization: AI assistant utilization per team, tool and surface in the window.
--
-- Implements the utilization measures of the DX AI Measurement Framework
-- (DX, 2025: "utilization": daily and weekly active users, the share of
-- developers who use AI tools) and GitHub's Copilot metrics (acceptance
-- rate = acceptances / suggestions; lines accepted / lines suggested), over
-- ai_usage_days.sql:
-- * a person's use counts for every team they were a member of on that day
--   and once for the organisation (team ''), as ai_usage_teams.sql says;
-- * active_users: distinct people with use in the window; user_days: the
--   sum over days of that day's active people, user_weeks the same over ISO
--   weeks (Monday first); Rust divides them by the window's days and weeks,
--   so days without use count as 0: the daily and weekly means;
-- * rows for (team, tool, surface), (team, tool) and (team): a rolled-up
--   column is null.
--
-- Template values (filled in by analytics::ai): usage_teams (that file,
-- filled).
WITH scoped AS ({{usage_teams}}),
distinct_scoped AS (
    -- A person in one team twice (two overlapping memberships) counts once.
    SELECT DISTINCT team, "user", tool, surface, day,
           interactions, suggestions, acceptances, lines_suggested, lines_accepted
    FROM scoped
)
SELECT team, tool, surface,
       count(DISTINCT "user") AS active_users,
       count(DISTINCT "user" || chr(31) || CAST(day AS VARCHAR)) AS user_days,
       count(DISTINCT "user" || chr(31) || CAST(date_trunc('week', day) AS VARCHAR)) AS user_weeks,
       sum(suggestions) AS suggestions,
       sum(acceptances) AS acceptances,
       sum(lines_suggested) AS lines_suggested,
       sum(lines_accepted) AS lines_accepted
FROM distinct_scoped
GROUP BY GROUPING SETS ((team, tool, surface), (team, tool), (team))
