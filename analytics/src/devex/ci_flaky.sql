-- ci_flaky: per (repo, pipeline, sha), whether CI was flaky on it.
--
-- Rule (devex's DevEx contract, after the DevEx framework's feedback loops
-- and DX Core 4's "flaky builds"): a (repo, pipeline, sha) group is flaky when
-- an attempt on it failed (`failure` or `timed_out`) and a later attempt
-- (by queued_at, in the same run or a new one) succeeded. Only groups with at
-- least one succeeded or failed attempt are counted; a group belongs to the
-- window that contains its first queued_at.
SELECT repo,
       pipeline,
       sha,
       min(team) AS team,
       first_value(services) AS services,
       min(queued_at) AS queued_at,
       min(CASE WHEN conclusion IN ('failure', 'timed_out') THEN queued_at END) AS first_failure_at,
       max(CASE WHEN conclusion = 'success' THEN queued_at END) AS last_success_at,
       coalesce(
           min(CASE WHEN conclusion IN ('failure', 'timed_out') THEN queued_at END)
               < max(CASE WHEN conclusion = 'success' THEN queued_at END),
           false
       ) AS flaky
FROM ci_attempts
WHERE conclusion IN ('success', 'failure', 'timed_out')
GROUP BY repo, pipeline, sha
