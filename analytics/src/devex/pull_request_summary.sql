-- pull_request_summary: the pull request feedback loop per group over the
-- window [from, to), merged pull requests by merged_at.
--
-- Implements (DevEx framework, ACM Queue 2023, feedback loops; SPACE 2021,
-- efficiency and flow), each median and p90 exact (type 7, percentile_cont)
-- and reported with its sample size. One of three summaries the DevEx report
-- runs one after the other, so only one set of percentile states is held at
-- a time.
--
-- * pull request phases: medians over merged pull requests with a value;
-- * unreviewed_merge_share: merged without a non-author review / merged;
-- * handoffs: median handoffs per merged pull request.
SELECT {{group_key}} AS group_key,
       count(*) AS merged_prs,
       sum(CASE WHEN reviewed THEN 0 ELSE 1 END) AS unreviewed_prs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY coding_hours) AS pr_coding_median_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pickup_hours) AS pr_pickup_median_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY review_hours) AS pr_review_median_hours,
       count(deploy_hours) AS deployed_prs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY deploy_hours) AS pr_deploy_median_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_time_hours) AS pr_cycle_time_median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY cycle_time_hours) AS pr_cycle_time_p90_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(coalesce(h.handoffs, 0) AS DOUBLE)) AS handoffs_median
FROM pull_request_phases p
LEFT JOIN pull_request_handoffs h ON h.item = concat(p.repo, '#', CAST(p.number AS VARCHAR))
WHERE merged_at >= {{from}} AND merged_at < {{to}} {{filter}}
GROUP BY 1
