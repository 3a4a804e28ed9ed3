-- repository_summary: the CI and pull request feedback loops per group over
-- the window [from, to): CI attempts by queued_at, flaky groups by first
-- queued_at, merged pull requests by merged_at.
--
-- Implements (DevEx framework, ACM Queue 2023, feedback loops; SPACE 2021,
-- efficiency and flow), each median and p90 exact (type 7, percentile_cont)
-- and reported with its sample size:
-- * ci_duration / ci_queue: median and p90 minutes over attempts with a value;
-- * flaky_rate: flaky (repo, pipeline, sha) groups / groups;
-- * pull request phases: medians over merged pull requests with a value;
-- * unreviewed_merge_share: merged without a non-author review / merged;
-- * handoffs: median handoffs per merged pull request.
WITH ci AS (
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
),
flaky AS (
    SELECT {{group_key}} AS group_key,
           count(*) AS ci_shas,
           sum(CASE WHEN flaky THEN 1 ELSE 0 END) AS flaky_shas
    FROM ci_flaky
    WHERE queued_at >= {{from}} AND queued_at < {{to}} {{filter}}
    GROUP BY 1
),
prs AS (
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
),
groups AS (
    SELECT group_key FROM ci UNION SELECT group_key FROM flaky UNION SELECT group_key FROM prs
)
SELECT g.group_key,
       ci.ci_runs, ci.ci_duration_median_minutes, ci.ci_duration_p90_minutes,
       ci.ci_queued_runs, ci.ci_queue_median_minutes, ci.ci_queue_p90_minutes,
       flaky.ci_shas, flaky.flaky_shas,
       prs.merged_prs, prs.unreviewed_prs, prs.pr_coding_median_hours, prs.pr_pickup_median_hours,
       prs.pr_review_median_hours, prs.deployed_prs, prs.pr_deploy_median_hours,
       prs.pr_cycle_time_median_hours, prs.pr_cycle_time_p90_hours, prs.handoffs_median
FROM groups g
LEFT JOIN ci ON ci.group_key IS NOT DISTINCT FROM g.group_key
LEFT JOIN flaky ON flaky.group_key IS NOT DISTINCT FROM g.group_key
LEFT JOIN prs ON prs.group_key IS NOT DISTINCT FROM g.group_key
