-- ai_cost_rows: AI assistant spend in the cost lake: the cost rows of the
-- window whose FOCUS service_name matches `[ai] cost_services`, per team
-- as the cost report places them (cost_lines.sql: tags, namespaces,
-- catalog; shared and unattributed rows have no team and count for the
-- organisation only).
--
-- Template values (filled in by analytics::ai): cost_lines (that file,
-- filled for the window), currency, services (one regular expression).
WITH cost_lines AS ({{cost_lines}}),
matched AS (
    SELECT team, amount
    FROM cost_lines
    WHERE currency = {{currency}} AND regexp_like(service_name, {{services}})
)
SELECT team, sum(amount) AS amount FROM matched WHERE team IS NOT NULL GROUP BY team
UNION ALL
SELECT '' AS team, sum(amount) AS amount FROM matched
