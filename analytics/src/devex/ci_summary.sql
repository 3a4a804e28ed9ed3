-- ci_summary: the CI feedback loop per group over the window [from, to), CI
-- attempts by queued_at.
--
-- Implements (DevEx framework, ACM Queue 2023, feedback loops; SPACE 2021,
-- efficiency and flow), each median and p90 exact (type 7, percentile_cont)
-- and reported with its sample size. One of three summaries the DevEx report
-- runs one after the other, so only one set of percentile states is held at
-- a time.
--
-- * ci_duration / ci_queue: median and p90 minutes over attempts with a value.
SELECT {{group_key}} AS group_key,
       count(duration_minutes) AS ci_runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_minutes) AS ci_duration_median_minutes,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_minutes) AS ci_duration_p90_minutes,
       count(queue_minutes) AS ci_queued_runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_minutes) AS ci_queue_median_minutes,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY queue_minutes) AS ci_queue_p90_minutes
FROM ci_attempts
WHERE queued_at >= {{from}} AND queued_at < {{to}} {{filter}}
GROUP BY 1
