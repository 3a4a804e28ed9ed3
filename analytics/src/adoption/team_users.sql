-- team_users: which users were active for which team in the window, so that
-- adoption per team never reveals a hidden team's users by difference
-- (analytics::privacy: overall minus the shown teams must be none or at
-- least the minimum group size).
--
-- The same event rules as active_users.sql; a missing team is the empty
-- text. Template values (filled in by analytics::adoption): from, to.
SELECT DISTINCT coalesce(team, '') AS team, "user"
FROM platform_usage
WHERE at >= {{from}} AND at < {{to}}
