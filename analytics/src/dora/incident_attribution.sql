-- incident_attribution: the counted production deployment each incident is
-- blamed on, at most one.
--
-- Implements the failed-deployment rule of devex's DORA contract, after DORA's
-- change failure rate ("the percentage of deployments that cause a failure in
-- production", Accelerate State of DevOps Report 2023 and 2024):
-- * An incident is one (service, incident_id); its rows (opened, resolved, ...)
--   are merged: earliest opened_at, latest resolved_at, any link given.
-- * A link beats time, and the deployment must be of the incident's service:
--   1. linked_deployment_id: the incident names a production deployment; it is
--      blamed on the counted deployment that shipped that deployment's sha (a
--      redeploy or rollback of a sha points back at the one that counted it);
--   2. linked_sha: the incident names a sha; it is blamed on the counted
--      deployment that shipped it;
--   3. time: otherwise, on the counted deployment with
--      deployed_at <= opened_at < started_at of the service's next successful
--      production deployment of any class. A link that names nothing deployed
--      to production (a staging deployment, an unknown id) falls back to time.
-- * Incidents opened before any deployment, or after a redeploy or rollback
--   started a new running period, are blamed on nothing.
WITH incident AS (
    SELECT service,
           incident_id,
           min(opened_at) AS opened_at,
           max(resolved_at) AS resolved_at,
           max(deployment_id) AS linked_deployment_id,
           max(sha) AS linked_sha,
           -- The tool that told us: an event id's first part (pagerduty, gitlab, ...).
           min(split_part(event_id, ':', 1)) AS source
    FROM incidents
    GROUP BY service, incident_id
),
counted AS (
    SELECT service, deployment_id, sha, deployed_at, next_started_at
    FROM production_deployments
    WHERE class IN ('baseline', 'counted')
),
by_deployment_id AS (
    SELECT i.service, i.incident_id, min(c.deployment_id) AS deployment_id
    FROM incident i
    JOIN production_deployments p
      ON p.service = i.service AND p.deployment_id = i.linked_deployment_id
    JOIN counted c ON c.service = p.service AND c.sha = p.sha
    GROUP BY i.service, i.incident_id
),
by_sha AS (
    SELECT i.service, i.incident_id, min(c.deployment_id) AS deployment_id
    FROM incident i
    JOIN counted c ON c.service = i.service AND c.sha = i.linked_sha
    GROUP BY i.service, i.incident_id
),
by_time AS (
    SELECT i.service, i.incident_id, min(c.deployment_id) AS deployment_id
    FROM incident i
    JOIN counted c
      ON c.service = i.service
     AND i.opened_at >= c.deployed_at
     AND (c.next_started_at IS NULL OR i.opened_at < c.next_started_at)
    GROUP BY i.service, i.incident_id
)
SELECT i.service,
       i.incident_id,
       i.source,
       i.opened_at,
       i.resolved_at,
       i.linked_deployment_id,
       i.linked_sha,
       coalesce(by_deployment_id.deployment_id, by_sha.deployment_id, by_time.deployment_id) AS deployment_id,
       CASE
           WHEN by_deployment_id.deployment_id IS NOT NULL THEN 'linked_deployment_id'
           WHEN by_sha.deployment_id IS NOT NULL THEN 'linked_sha'
           WHEN by_time.deployment_id IS NOT NULL THEN 'time'
       END AS attribution
FROM incident i
LEFT JOIN by_deployment_id
       ON by_deployment_id.service = i.service AND by_deployment_id.incident_id = i.incident_id
LEFT JOIN by_sha
       ON by_sha.service = i.service AND by_sha.incident_id = i.incident_id
LEFT JOIN by_time
       ON by_time.service = i.service AND by_time.incident_id = i.incident_id
