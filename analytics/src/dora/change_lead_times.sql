-- change_lead_times: every change of a counted deployment and its lead time.
--
-- Implements DORA's lead time for changes ("the amount of time it takes a
-- commit to get into production", Accelerate State of DevOps Report 2023 and
-- 2024) as devex's contract states it:
-- * The changes of a deployment come from the derive stage
--   (see analytics::derive): commits reachable from its
--   sha that no earlier production deployment of the service included. A
--   baseline deployment has none.
-- * Lead time = the deployment's deployed_at minus the change's start. The
--   start is the commit's authored_at, except when the commit is the merge_sha
--   of a merged pull request that has a first_commit_at: then it is that
--   first_commit_at, so squash and rebase merges keep their real start.
--   A pull request that was closed without merging never counts (GitHub gives
--   those a test-merge sha too).
-- * A change is rework (DORA 2024's rework rate: unplanned deployments that fix
--   a user-facing problem) when its message matches the rework message pattern
--   (config `dora.rework_message_pattern`, by default `^(revert|hotfix)`,
--   case-insensitive) or its merged pull request carries one of the rework
--   labels (`dora.rework_labels`, by default `hotfix`).
WITH commit AS (
    SELECT sha,
           min(authored_at) AS authored_at,
           max(message_summary) AS message_summary
    FROM commits
    GROUP BY sha
),
merged_pull_request AS (
    SELECT merge_sha,
           min(number) AS pull_request,
           min(first_commit_at) AS first_commit_at,
           bool_or({{rework_label_match}}) AS rework_label
    FROM pull_requests
    WHERE merge_sha IS NOT NULL AND merged_at IS NOT NULL
    GROUP BY merge_sha
)
SELECT d.service,
       d.team,
       d.deployment_id,
       d.deployed_at,
       change.sha,
       c.authored_at,
       c.message_summary,
       pr.pull_request,
       coalesce(pr.first_commit_at, c.authored_at) AS change_started_at,
       CASE WHEN pr.first_commit_at IS NOT NULL THEN 'pull_request_first_commit' ELSE 'authored_at' END AS started_from,
       (arrow_cast(d.deployed_at, 'Int64') - arrow_cast(coalesce(pr.first_commit_at, c.authored_at), 'Int64'))
           / 3600000000.0 AS lead_time_hours,
       (coalesce({{rework_message_match}}, false) OR coalesce(pr.rework_label, false)) AS rework
FROM {{deployment_changes}} change
JOIN production_deployments d
  ON d.service = change.service AND d.deployment_id = change.deployment_id
JOIN commit c ON c.sha = change.sha
LEFT JOIN merged_pull_request pr ON pr.merge_sha = change.sha
