-- people_summary: context switches and flow per team over the developer-days
-- of the window (local days in the report's time zone).
--
-- Implements (DevEx framework, ACM Queue 2023: flow state, cognitive load;
-- SPACE 2021: efficiency and flow), as team distributions only, never per
-- person; analytics::devex hides a team with fewer developers than the
-- minimum group size:
-- * context_switches: median and p90 distinct work items per developer-day;
-- * repos_touched_median: median repositories per developer-day;
-- * high_context_switch_day_share: developer-days with more than
--   {{switch_threshold}} work items / developer-days;
-- * focus_day_share: developer-days with a focus block / developer-days.
SELECT team AS group_key,
       count(*) AS developer_days,
       count(DISTINCT developer) AS active_developers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(work_items AS DOUBLE)) AS context_switches_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY CAST(work_items AS DOUBLE)) AS context_switches_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(repos AS DOUBLE)) AS repos_touched_median,
       sum(CASE WHEN work_items > {{switch_threshold}} THEN 1 ELSE 0 END) AS high_switch_days,
       sum(CASE WHEN focus THEN 1 ELSE 0 END) AS focus_days
FROM developer_days
WHERE first_at >= {{from}} AND first_at < {{to}} {{team_filter}}
GROUP BY team
