-- ci_cost: CI minutes per team and runner operating system in the window,
-- for pricing by `[cost.ci] per_minute`.
--
-- Rule (devex's cost contract, after GitHub Actions' per-minute billing by
-- runner OS): a run attempt (repo, run_id, attempt) counts its
-- billable_minutes once (its latest reported value), in the window that
-- holds its queued_at (UTC); its runner OS is lower-cased. The attempt
-- belongs to its repository's team: the catalog's current owner of a
-- service listing the repository (the first by name when several do), as
-- the DevEx CI measures count it; a repository no service lists has no team.
--
-- Template values (filled in by analytics::cost): from, to, and
-- repository_teams (analytics/src/devex/repository_teams.sql, the DevEx
-- rule itself).
WITH attempts AS (
    SELECT repo,
           run_id,
           attempt,
           max(billable_minutes) AS minutes,
           lower(max(runner_os)) AS os
    FROM ci_runs
    WHERE queued_at >= {{from}} AND queued_at < {{to}} AND billable_minutes IS NOT NULL
    GROUP BY repo, run_id, attempt
),
repository_teams AS (
    {{repository_teams}}
)
SELECT t.team, a.os, sum(a.minutes) AS minutes, count(*) AS runs
FROM attempts a
LEFT JOIN repository_teams t ON t.repo = a.repo
GROUP BY t.team, a.os
