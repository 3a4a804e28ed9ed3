-- golden_paths: how much of the work takes the platform's golden paths,
-- per team: services created from a template, and production deployments
-- built by the platform's pipeline.
--
-- Implements devex's golden-path contract (the "paved road" adoption
-- measures platform teams report, e.g. in Backstage's and the CNCF
-- Platforms white paper's terms: share of new services scaffolded from a
-- template, share of deployments on the standard pipeline):
-- * A service is created when the catalog first lists it: the earliest
--   valid_from of its versions. A service whose first version holds since
--   always (null valid_from: the catalog's first import) was created before
--   any window. Services created in [from, to) count, with the team that
--   owned their first version.
-- * It was created from a template when a version carries the Backstage
--   annotation `backstage.io/source-template` (which the scaffolder writes).
-- * Production deployments are those DORA counts (production_deployments,
--   classes baseline and counted) whose deployed_at is in the window, with
--   the team that owned the service then.
-- * A deployment took the platform's pipeline when a CI run of its commit
--   (ci_runs.sha) belongs to a pipeline matching `adoption.platform_pipelines`
--   ({{platform_pipelines}}, a regular expression).
-- * Rust gives the shares (template_share, pipeline_share) per team and
--   overall, null when there is nothing to divide.
--
-- Template values (filled in by analytics::adoption): from, to,
-- platform_pipelines (SQL text).
WITH service_first AS (
    SELECT service, min(valid_from) AS created_at
    FROM services
    GROUP BY service
    HAVING count(valid_from) = count(*)
),
created AS (
    SELECT s.service,
           max(CASE WHEN s.valid_from = f.created_at THEN s.owner_team END) AS team,
           bool_or(tag_value(s.annotations, 'backstage.io/source-template') IS NOT NULL) AS from_template
    FROM services s
    JOIN service_first f ON f.service = s.service
    WHERE f.created_at >= {{from}} AND f.created_at < {{to}}
    GROUP BY s.service
),
platform_sha AS (
    SELECT DISTINCT sha FROM ci_runs WHERE regexp_like(pipeline, {{platform_pipelines}})
),
deployed AS (
    SELECT d.team, p.sha IS NOT NULL AS platform
    FROM production_deployments d
    LEFT JOIN platform_sha p ON p.sha = d.sha
    WHERE d.class IN ('baseline', 'counted')
      AND d.deployed_at >= {{from}} AND d.deployed_at < {{to}}
),
per_team AS (
    SELECT team,
           count(*) AS services_created,
           count(*) FILTER (WHERE from_template) AS services_from_template,
           0 AS production_deployments,
           0 AS platform_pipeline_deployments
    FROM created
    GROUP BY team
    UNION ALL
    SELECT team,
           0, 0,
           count(*),
           count(*) FILTER (WHERE platform)
    FROM deployed
    GROUP BY team
)
SELECT team,
       sum(services_created) AS services_created,
       sum(services_from_template) AS services_from_template,
       sum(production_deployments) AS production_deployments,
       sum(platform_pipeline_deployments) AS platform_pipeline_deployments
FROM per_team
GROUP BY team
