-- deployment_outcomes: every counted production deployment with its changes,
-- failure, recovery and rework.
--
-- Implements, after the Accelerate State of DevOps Report 2023 (change failure
-- rate, failed deployment recovery time) and 2024 (rework rate):
-- * Failed: at least one incident is attributed to it (incident_attribution),
--   or it was rolled back (production_deployments.rolled_back_by).
-- * Recovered at: the earliest of
--   - the latest resolved_at of its incidents, defined only when all of them
--     are resolved;
--   - the deployed_at of the rollback that replaced it.
--   Recovery time = recovered_at - deployed_at, in hours, never below zero (an
--   incident resolved before the deployment finished recovered at once). A
--   failed deployment with no recovery yet is unrecovered.
-- * Rework: at least one of its changes is rework (change_lead_times).
WITH attributed AS (
    SELECT service,
           deployment_id,
           count(*) AS incidents,
           count(resolved_at) AS resolved_incidents,
           max(resolved_at) AS last_resolved_at
    FROM incident_attribution
    WHERE deployment_id IS NOT NULL
    GROUP BY service, deployment_id
),
change_summary AS (
    SELECT service, deployment_id, count(*) AS changes, bool_or(rework) AS rework
    FROM change_lead_times
    GROUP BY service, deployment_id
),
failure AS (
    SELECT d.*,
           coalesce(a.incidents, 0) AS incidents,
           (a.incidents IS NOT NULL OR d.rolled_back_by IS NOT NULL) AS failed,
           CASE WHEN a.incidents = a.resolved_incidents THEN a.last_resolved_at END AS incidents_resolved_at,
           coalesce(cs.changes, 0) AS changes,
           coalesce(cs.rework, false) AS rework
    FROM production_deployments d
    LEFT JOIN attributed a ON a.service = d.service AND a.deployment_id = d.deployment_id
    LEFT JOIN change_summary cs ON cs.service = d.service AND cs.deployment_id = d.deployment_id
    WHERE d.class IN ('baseline', 'counted')
),
recovery AS (
    SELECT *,
           CASE
               WHEN NOT failed THEN NULL
               WHEN rolled_back_at IS NULL THEN incidents_resolved_at
               WHEN incidents_resolved_at IS NULL THEN rolled_back_at
               WHEN incidents_resolved_at < rolled_back_at THEN incidents_resolved_at
               ELSE rolled_back_at
           END AS recovered_at
    FROM failure
)
SELECT *,
       CASE
           WHEN recovered_at IS NULL THEN NULL
           WHEN recovered_at < deployed_at THEN 0.0
           ELSE (arrow_cast(recovered_at, 'Int64') - arrow_cast(deployed_at, 'Int64')) / 3600000000.0
       END AS recovery_hours
FROM recovery
