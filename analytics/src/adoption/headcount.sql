-- headcount: each team's developers during the window, for adoption per team.
--
-- Rule (devex's adoption contract, the same membership rule as the DevEx
-- people measures): a developer counts in every team they were a member of
-- on any day of [from, to) (valid_from before `to`, valid_to null or after
-- `from`).
--
-- Template values (filled in by analytics::adoption): from, to.
SELECT team, count(DISTINCT developer) AS developers
FROM team_members
WHERE valid_from < {{to}} AND (valid_to IS NULL OR valid_to > {{from}})
GROUP BY team
