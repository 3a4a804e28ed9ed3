-- developer_days: one row per developer, team and local day with activity:
-- context switches and focus.
--
-- Implements, after the DevEx framework (ACM Queue 2023: flow state and
-- cognitive load; context switching) and SPACE (2021: efficiency and flow):
-- * A developer's activity belongs to every team they were a member of at
--   the time (team_members valid_from <= at < valid_to); a developer in two
--   teams counts in both.
-- * Context switches of a developer-day: the number of distinct work items
--   (`owner/name#number`: pull requests, issues) and of repositories touched.
-- * Focus: the day has a focus block, a stretch of at least 2 hours whose
--   activity all concerns one work item: consecutive events on the same item,
--   from the first to the last, span 2 hours or more.
-- * Days are calendar days in the report's time zone ({{tz}}).
-- These rows feed team distributions only; no per-person value leaves devex.
WITH activity AS (
    SELECT w.developer,
           m.team,
           w.at,
           w.item,
           w.repo,
           date_trunc('day', to_local_time(w.at AT TIME ZONE '{{tz}}')) AS day
    FROM work_activity w
    JOIN team_members m
      ON m.developer = w.developer
     AND w.at >= m.valid_from
     AND (m.valid_to IS NULL OR w.at < m.valid_to)
),
ordered AS (
    SELECT *,
           lag(item) OVER (PARTITION BY developer, team, day ORDER BY at, item) AS previous_item
    FROM activity
),
runs AS (
    SELECT *,
           sum(CASE WHEN item = previous_item THEN 0 ELSE 1 END)
               OVER (PARTITION BY developer, team, day ORDER BY at, item ROWS UNBOUNDED PRECEDING) AS run
    FROM ordered
),
spans AS (
    SELECT developer, team, day, run,
           (arrow_cast(max(at), 'Int64') - arrow_cast(min(at), 'Int64')) / 3600000000.0 AS span_hours
    FROM runs
    GROUP BY developer, team, day, run
),
longest AS (
    SELECT developer, team, day, max(span_hours) AS longest_span_hours
    FROM spans
    GROUP BY developer, team, day
)
SELECT a.developer,
       a.team,
       a.day,
       min(a.at) AS first_at,
       count(DISTINCT a.item) AS work_items,
       count(DISTINCT a.repo) AS repos,
       max(l.longest_span_hours) AS longest_span_hours,
       max(l.longest_span_hours) >= 2.0 AS focus
FROM activity a
JOIN longest l ON l.developer = a.developer AND l.team = a.team AND l.day = a.day
GROUP BY a.developer, a.team, a.day
