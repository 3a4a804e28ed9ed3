-- cost_lines: every cost row of the window, its amount in the chosen
-- measure, and the rule that places it.
--
-- Implements devex's cost attribution contract (after the FinOps
-- Foundation's allocation practice: tags first, shared costs split, the
-- unallocated remainder shown, never dropped). The first rule that applies
-- places the row:
-- 1. service_tag: a tag whose key is in `cost.service_tags` (first key
--    present wins) names a catalog service: the row goes to that service and
--    to the team that owned it at the row's charge_period_start (the catalog
--    version with the latest valid_from not after it; null: since always);
-- 2. team_tag: a tag whose key is in `cost.team_tags` names a catalog team:
--    the row goes to that team, with no service;
-- 3. namespace: the Kubernetes namespace (a tag whose key is in
--    `cost.namespace_tags`) is a namespace the catalog gives a service
--    (annotation `backstage.io/kubernetes-namespace`, current version; the
--    first service by name when several claim it): that service, and its
--    team at the time;
-- 4. shared: the tag `cost.shared.tag` has the value `cost.shared.value`
--    (case-insensitive): split across teams in Rust (analytics::cost::split);
-- 5. unattributed: everything else.
-- A tag value that names nothing the catalog knows falls to the next rule.
-- Amount: the measure (effective: EffectiveCost, else BilledCost; billed;
-- list: ListCost, else BilledCost). Credits and refunds are negative rows
-- and are placed like any other. A row belongs to the window and the UTC
-- month that contain its charge_period_start.
--
-- Template values (filled in by analytics::cost): from, to, amount,
-- service_tags, team_tags, namespace_tags, shared_tag, shared_value, and
-- the catalog's rules: ownership (analytics::catalog::SERVICE_OWNERSHIP)
-- and current_services (analytics::catalog::CURRENT_SERVICES).
WITH lines AS (
    SELECT event_id,
           charge_period_start,
           billing_currency AS currency,
           to_char(charge_period_start, '%Y-%m') AS month,
           {{amount}} AS amount,
           provider_name,
           service_name,
           resource_id,
           tag_value(tags, {{service_tags}}) AS service_tag,
           tag_value(tags, {{team_tags}}) AS team_tag,
           tag_value(tags, {{namespace_tags}}) AS namespace,
           lower(tag_value(tags, {{shared_tag}})) AS shared_tag
    FROM costs
    WHERE charge_period_start >= {{from}} AND charge_period_start < {{to}}
),
ownership AS (
    SELECT * FROM {{ownership}}
),
known_teams AS (
    SELECT team FROM teams
    UNION
    SELECT owner_team AS team FROM services
),
namespaces AS (
    SELECT namespace, min(service) AS service
    FROM (
        SELECT tag_value(annotations, 'backstage.io/kubernetes-namespace') AS namespace, service
        FROM {{current_services}}
    )
    WHERE namespace IS NOT NULL
    GROUP BY namespace
),
placed AS (
    SELECT l.*,
           by_tag.team AS service_tag_team,
           known_teams.team AS known_team,
           namespaces.service AS namespace_service,
           by_namespace.team AS namespace_team
    FROM lines l
    LEFT JOIN ownership by_tag
           ON by_tag.service = l.service_tag
          AND (by_tag.valid_from IS NULL OR by_tag.valid_from <= l.charge_period_start)
          AND (by_tag.valid_to IS NULL OR l.charge_period_start < by_tag.valid_to)
    LEFT JOIN known_teams ON known_teams.team = l.team_tag
    LEFT JOIN namespaces ON namespaces.namespace = l.namespace
    LEFT JOIN ownership by_namespace
           ON by_namespace.service = namespaces.service
          AND (by_namespace.valid_from IS NULL OR by_namespace.valid_from <= l.charge_period_start)
          AND (by_namespace.valid_to IS NULL OR l.charge_period_start < by_namespace.valid_to)
),
ruled AS (
    SELECT *,
           CASE
               WHEN service_tag_team IS NOT NULL THEN 'service_tag'
               WHEN known_team IS NOT NULL THEN 'team_tag'
               WHEN namespace_team IS NOT NULL THEN 'namespace'
               WHEN shared_tag = {{shared_value}} THEN 'shared'
               ELSE 'unattributed'
           END AS rule
    FROM placed
)
SELECT event_id,
       month,
       currency,
       amount,
       provider_name,
       service_name,
       resource_id,
       rule,
       CASE rule WHEN 'service_tag' THEN service_tag WHEN 'namespace' THEN namespace_service END AS service,
       CASE rule
           WHEN 'service_tag' THEN service_tag_team
           WHEN 'team_tag' THEN known_team
           WHEN 'namespace' THEN namespace_team
       END AS team
FROM ruled
