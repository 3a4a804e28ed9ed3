-- production_deployments: every successful production deployment of a service,
-- in order, with its class.
--
-- Implements the deployment rules of devex's DORA contract, after the DORA
-- definition of a deployment ("Accelerate State of DevOps Report" 2023 and 2024,
-- dora.dev: deployment frequency counts successful deployments to production):
-- * Production: the environment matches the production pattern (config
--   `dora.production_pattern`, by default `^(prod|production)$`),
--   case-insensitively.
-- * Only successful attempts (status `success`) are deployments; failed, errored
--   or cancelled attempts never are. Rows of one deployment (service,
--   deployment_id), e.g. a redelivered status, count once.
-- * Classes, in order of started_at (ties broken by deployment_id):
--   - baseline: the service's first deployment ever. It counts, but brings no
--     changes: when its commits were first deployed is unknown (DevLake #8188);
--   - redeploy: its sha equals the sha currently running. Not counted;
--   - rollback: its sha was deployed earlier but is not the one running. Not
--     counted. It marks the deployment it replaced as rolled back: the last
--     earlier deployment that was not a redeploy, when that one is counted;
--   - counted: every other one.
-- * deployed_at is finished_at (started_at when a source gives no finish time);
--   a deployment belongs to the window that contains its deployed_at.
-- * Its team is the one that owned the service when it was deployed: the
--   catalog version (services rows) with the latest valid_from not after
--   deployed_at, a null valid_from meaning "since always"; rows of one
--   version merge (max owner_team). Last year's deployments stay with last
--   year's owner after the service changes hands.
--
-- Template values (filled in by analytics::dora): production_pattern, and
-- ownership (analytics::catalog::SERVICE_OWNERSHIP).
WITH successful AS (
    SELECT service,
           deployment_id,
           first_value(sha ORDER BY started_at, event_id) AS sha,
           first_value(environment ORDER BY started_at, event_id) AS environment,
           first_value(source ORDER BY started_at, event_id) AS source,
           min(started_at) AS started_at,
           max(finished_at) AS finished_at
    FROM deployments
    WHERE lower(status) = 'success'
      AND regexp_like(environment, {{production_pattern}}, 'i')
    GROUP BY service, deployment_id
),
ordered AS (
    SELECT *,
           coalesce(finished_at, started_at) AS deployed_at,
           row_number() OVER (PARTITION BY service ORDER BY started_at, deployment_id) AS seq,
           lag(sha) OVER (PARTITION BY service ORDER BY started_at, deployment_id) AS running_sha,
           lead(started_at) OVER (PARTITION BY service ORDER BY started_at, deployment_id) AS next_started_at,
           row_number() OVER (PARTITION BY service, sha ORDER BY started_at, deployment_id) AS sha_occurrence
    FROM successful
),
classed AS (
    SELECT *,
           CASE
               WHEN seq = 1 THEN 'baseline'
               WHEN sha = running_sha THEN 'redeploy'
               WHEN sha_occurrence > 1 THEN 'rollback'
               ELSE 'counted'
           END AS class
    FROM ordered
),
-- A segment is the time one sha runs: every deployment but a redeploy starts
-- one. A rollback in segment k replaced whatever started segment k - 1.
segmented AS (
    SELECT *,
           sum(CASE WHEN class = 'redeploy' THEN 0 ELSE 1 END)
               OVER (PARTITION BY service ORDER BY seq ROWS UNBOUNDED PRECEDING) AS segment
    FROM classed
),
segment_start AS (
    SELECT service, segment, deployment_id, class, deployed_at
    FROM segmented
    WHERE class <> 'redeploy'
),
ownership AS (
    SELECT * FROM {{ownership}}
)
SELECT d.service,
       ownership.team,
       d.deployment_id,
       d.environment,
       d.source,
       d.sha,
       d.started_at,
       d.finished_at,
       d.deployed_at,
       d.seq,
       d.class,
       d.next_started_at,
       rolled_back.deployment_id AS rolled_back_by,
       rolled_back.deployed_at AS rolled_back_at,
       replaced.deployment_id AS rolls_back
FROM segmented d
LEFT JOIN ownership
       ON ownership.service = d.service
      AND (ownership.valid_from IS NULL OR ownership.valid_from <= d.deployed_at)
      AND (ownership.valid_to IS NULL OR d.deployed_at < ownership.valid_to)
LEFT JOIN segment_start rolled_back
       ON rolled_back.service = d.service
      AND rolled_back.segment = d.segment + 1
      AND rolled_back.class = 'rollback'
      AND d.class IN ('baseline', 'counted')
LEFT JOIN segment_start replaced
       ON replaced.service = d.service
      AND replaced.segment = d.segment - 1
      AND replaced.class IN ('baseline', 'counted')
      AND d.class = 'rollback'
