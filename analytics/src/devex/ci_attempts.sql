-- ci_attempts: every CI run attempt, with its duration and queue wait.
--
-- Implements the CI feedback loop of the DevEx framework (Noda, Storey,
-- Forsgren, Greiler, "DevEx: What Actually Drives Productivity", ACM Queue
-- 2023: feedback loops, "time it takes for CI to run"):
-- * An attempt is (repo, pipeline, run_id, attempt); its rows (queued, in
--   progress, completed) merge: earliest queued_at, latest started_at and
--   finished_at, the conclusion of its latest row.
-- * duration = finished_at - started_at; queue wait = started_at - queued_at,
--   in minutes; null while unknown (a run still going has no duration).
-- * The attempt belongs to the services of its commit (commit_scopes:
--   inside a monorepo, those whose paths the commit touches), else to its
--   repository's (repository_teams), and to the team owning them; and to
--   the window that contains its queued_at.
WITH attempt AS (
    SELECT repo,
           pipeline,
           run_id,
           attempt,
           max(sha) AS sha,
           min(queued_at) AS queued_at,
           max(started_at) AS started_at,
           max(finished_at) AS finished_at,
           first_value(conclusion ORDER BY finished_at DESC NULLS LAST, event_id) AS conclusion
    FROM ci_runs
    GROUP BY repo, pipeline, run_id, attempt
)
SELECT a.*,
       coalesce(scope_team(s.services), t.team) AS team,
       coalesce(s.services, t.services) AS services,
       CASE WHEN a.finished_at >= a.started_at
            THEN (arrow_cast(a.finished_at, 'Int64') - arrow_cast(a.started_at, 'Int64')) / 60000000.0
       END AS duration_minutes,
       CASE WHEN a.started_at >= a.queued_at
            THEN (arrow_cast(a.started_at, 'Int64') - arrow_cast(a.queued_at, 'Int64')) / 60000000.0
       END AS queue_minutes
FROM attempt a
LEFT JOIN commit_scopes s ON s.repo = a.repo AND s.sha = a.sha
LEFT JOIN repository_teams t ON t.repo = a.repo
