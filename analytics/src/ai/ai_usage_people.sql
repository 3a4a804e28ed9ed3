-- usage_people: who was AI-active for which team, tool and surface in the
-- window, so that no shown group lets a smaller one be worked out by
-- difference (analytics::privacy). The same rules as ai_utilization.sql; the people
-- never leave analytics.
--
-- Template values (filled in by analytics::ai): usage_days, from_day, to_day.
WITH usage AS ({{usage_days}})
SELECT DISTINCT m.team, u."user", u.tool, u.surface
FROM usage u
JOIN team_members m
  ON m.developer = u."user"
 AND m.valid_from < arrow_cast(CAST(u.day + INTERVAL '1 day' AS TIMESTAMP), 'Timestamp(µs, "UTC")')
 AND (m.valid_to IS NULL OR m.valid_to > arrow_cast(CAST(u.day AS TIMESTAMP), 'Timestamp(µs, "UTC")'))
UNION ALL
SELECT DISTINCT '' AS team, "user", tool, surface FROM usage
