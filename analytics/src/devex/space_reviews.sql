-- space_reviews: reviews submitted in [from, to) on each team's repositories,
-- per reviewer, and how many came from outside the team.
--
-- Implements SPACE's communication and collaboration (Forsgren et al. 2021):
-- * reviewer concentration: analytics::devex computes the Gini coefficient of
--   these per-reviewer counts for each team's repositories;
-- * cross-team reviews: a review whose reviewer was not a member of the
--   repository's team when it was submitted.
-- Rows carry pseudonymous reviewer ids only to compute the coefficient; no
-- per-reviewer value leaves devex.
WITH review AS (
    SELECT DISTINCT r.repo, r.pr_number, r.reviewer, r.submitted_at, t.team AS repo_team
    FROM reviews r
    JOIN repository_teams t ON t.repo = r.repo
    WHERE r.submitted_at >= {{from}} AND r.submitted_at < {{to}}
),
with_membership AS (
    SELECT r.repo, r.pr_number, r.reviewer, r.submitted_at, r.repo_team,
           coalesce(bool_or(m.team = r.repo_team), false) AS same_team
    FROM review r
    LEFT JOIN team_members m
      ON m.developer = r.reviewer
     AND r.submitted_at >= m.valid_from
     AND (m.valid_to IS NULL OR r.submitted_at < m.valid_to)
    GROUP BY r.repo, r.pr_number, r.reviewer, r.submitted_at, r.repo_team
)
SELECT repo_team AS team,
       reviewer,
       count(*) AS reviews,
       sum(CASE WHEN same_team THEN 0 ELSE 1 END) AS cross_team_reviews
FROM with_membership
GROUP BY repo_team, reviewer
