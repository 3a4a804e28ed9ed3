-- lead_time_summary: number of changes and their lead time median and p90 per
-- group and period, over the changes of counted deployments whose deployed_at
-- falls in [from, to) (a change goes with its deployment's window).
--
-- Implements DORA's lead time for changes (Accelerate State of DevOps Report
-- 2023 and 2024). Percentiles are exact: linear interpolation between closest
-- ranks (type 7), as percentile_cont computes, never an approximation.
SELECT {{group_key}} AS group_key,
       {{period_key}} AS period_start,  -- a local date_trunc of deployed_at, or NULL
       count(*) AS changes,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_hours) AS lead_time_median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time_hours) AS lead_time_p90_hours
FROM change_lead_times
WHERE deployed_at >= {{from}} AND deployed_at < {{to}} {{filter}}
GROUP BY 1, 2
