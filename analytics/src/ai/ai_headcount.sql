-- ai_headcount: each team's developers during the window, and the
-- organisation's (team null), for the share of developers AI-active.
--
-- Rule (devex's adoption contract, as adoption/headcount.sql): a developer
-- counts in every team they were a member of on any day of [from, to)
-- (valid_from before `to`, valid_to null or after `from`), once in the
-- organisation.
--
-- Template values (filled in by analytics::ai): from, to.
SELECT team, count(DISTINCT developer) AS developers
FROM team_members
WHERE valid_from < {{to}} AND (valid_to IS NULL OR valid_to > {{from}})
GROUP BY GROUPING SETS ((team), ())
