-- team_members_in_window: each team's developers during [from, to) and, for
-- those still members at its end, their open pull requests then.
--
-- Implements the group sizes the anonymity rule needs (a developer counts
-- when their membership overlaps the window) and work in progress (SPACE
-- 2021, efficiency and flow; DevEx framework, cognitive load): open pull
-- requests per developer at the window's end, opened before it and neither
-- merged nor closed by then; members with none count as zero.
WITH member AS (
    SELECT DISTINCT team, developer,
           (valid_to IS NULL OR valid_to >= {{to}}) AND valid_from < {{to}} AS at_end
    FROM team_members
    WHERE valid_from < {{to}} AND (valid_to IS NULL OR valid_to > {{from}})
),
open_prs AS (
    SELECT author, count(*) AS open_prs
    FROM pull_request_lifetimes
    WHERE created_at < {{to}}
      AND (merged_at IS NULL OR merged_at >= {{to}})
      AND (closed_at IS NULL OR closed_at >= {{to}})
    GROUP BY author
)
SELECT m.team, m.developer, bool_or(m.at_end) AS at_end, max(coalesce(o.open_prs, 0)) AS open_prs
FROM member m
LEFT JOIN open_prs o ON o.author = m.developer
GROUP BY m.team, m.developer
