-- ai_usage_people: who was AI-active for which team, tool and surface in the
-- window, so that no shown group lets a smaller one be worked out by
-- difference (analytics::privacy). The same rules as ai_utilization.sql; the people
-- never leave analytics.
--
-- Template values (filled in by analytics::ai): usage_teams.
SELECT DISTINCT team, "user", tool, surface FROM ({{usage_teams}})
