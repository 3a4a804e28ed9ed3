-- ai_usage_teams: each person's AI use (ai_usage_days.sql) once for every
-- team it counts for, and once for the organisation (team ''), for the
-- measures per team.
--
-- Rule (devex's AI contract, as the DevEx people measures count people): a
-- day's use counts for every team the person was a member of on that day
-- (team_members: valid_from before the day's end, valid_to null or after
-- its start; UTC, as usage days are), so a move between teams moves the
-- use with it; the organisation counts everyone once.
--
-- Template values (filled in by analytics::ai): usage_days.
WITH usage AS ({{usage_days}})
SELECT m.team, u.*
FROM usage u
JOIN team_members m
  ON m.developer = u."user"
 AND m.valid_from < arrow_cast(CAST(u.day + INTERVAL '1 day' AS TIMESTAMP), 'Timestamp(µs, "UTC")')
 AND (m.valid_to IS NULL OR m.valid_to > arrow_cast(CAST(u.day AS TIMESTAMP), 'Timestamp(µs, "UTC")'))
UNION ALL
SELECT '' AS team, u.* FROM usage u
