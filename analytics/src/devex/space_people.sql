-- space_people: per team, pull requests merged in [from, to) by its members
-- and the members who reviewed anything then.
--
-- Implements SPACE's activity dimension at team level only (Forsgren et al.
-- 2021; DX Core 4's "diffs per engineer", never per person): merged pull
-- requests per developer-week = merged_prs / (developers * days / 7), and
-- review participation = reviewing developers / developers, where a pull
-- request or review counts for the teams its author or reviewer belonged to
-- at the time.
WITH merged AS (
    SELECT m.team, count(DISTINCT concat(p.repo, '#', CAST(p.number AS VARCHAR))) AS merged_prs
    FROM pull_request_phases p
    JOIN team_members m
      ON m.developer = p.author
     AND p.merged_at >= m.valid_from
     AND (m.valid_to IS NULL OR p.merged_at < m.valid_to)
    WHERE p.merged_at >= {{from}} AND p.merged_at < {{to}}
    GROUP BY m.team
),
reviewing AS (
    SELECT m.team, count(DISTINCT r.reviewer) AS reviewing_developers
    FROM reviews r
    JOIN team_members m
      ON m.developer = r.reviewer
     AND r.submitted_at >= m.valid_from
     AND (m.valid_to IS NULL OR r.submitted_at < m.valid_to)
    WHERE r.submitted_at >= {{from}} AND r.submitted_at < {{to}}
    GROUP BY m.team
)
SELECT coalesce(merged.team, reviewing.team) AS team,
       coalesce(merged.merged_prs, 0) AS merged_prs,
       coalesce(reviewing.reviewing_developers, 0) AS reviewing_developers
FROM merged
FULL OUTER JOIN reviewing ON reviewing.team = merged.team
