-- dora_summary: deployment frequency, change failure rate, failed deployment
-- recovery time and rework rate per group and period, over the counted
-- deployments whose deployed_at falls in [from, to).
--
-- Implements (Accelerate State of DevOps Report 2023 and 2024; rework rate from
-- 2024), with devex's contract for the parts the report leaves open:
-- * deployments: counted deployments (baseline included, redeploys and
--   rollbacks not). analytics::dora turns this into deployments per week =
--   deployments / (days in window / 7), days counted as calendar days in the report's time zone;
-- * deployment_days: distinct calendar days in the report's time zone with a counted
--   deployment (the deployment days share is this / days in window);
-- * failed_deployments / deployments is the change failure rate (null, not 0,
--   when there are no deployments);
-- * unrecovered: failed deployments with no recovery yet; they are left out of
--   the recovery percentiles;
-- * recovery percentiles: exact, linear interpolation between closest ranks
--   (type 7), as percentile_cont computes;
-- * rework_deployments / deployments is the rework rate.
SELECT {{group_key}} AS group_key,
       {{period_key}} AS period_start,  -- a local date_trunc of deployed_at, or NULL
       count(*) AS deployments,
       count(DISTINCT date_trunc('day', to_local_time(deployed_at AT TIME ZONE '{{tz}}'))) AS deployment_days,
       sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failed_deployments,
       sum(CASE WHEN failed AND recovered_at IS NULL THEN 1 ELSE 0 END) AS unrecovered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY recovery_hours) AS recovery_time_median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY recovery_hours) AS recovery_time_p90_hours,
       sum(CASE WHEN rework THEN 1 ELSE 0 END) AS rework_deployments
FROM deployment_outcomes
WHERE deployed_at >= {{from}} AND deployed_at < {{to}} {{filter}}
GROUP BY 1, 2
