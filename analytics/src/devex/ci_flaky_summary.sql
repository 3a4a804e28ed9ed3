-- ci_flaky_summary: flaky CI per group over the window [from, to), flaky
-- groups by their first queued_at.
--
-- Implements (DevEx framework, ACM Queue 2023, feedback loops; SPACE 2021,
-- efficiency and flow), each median and p90 exact (type 7, percentile_cont)
-- and reported with its sample size. One of three summaries the DevEx report
-- runs one after the other, so only one set of percentile states is held at
-- a time.
--
-- * flaky_rate: flaky (repo, pipeline, sha) groups / groups.
SELECT {{group_key}} AS group_key,
       count(*) AS ci_shas,
       sum(CASE WHEN flaky THEN 1 ELSE 0 END) AS flaky_shas
FROM ci_flaky
WHERE queued_at >= {{from}} AND queued_at < {{to}} {{filter}}
GROUP BY 1
