-- pull_request_phases: every merged pull request and its phases.
--
-- Implements the pull request cycle-time breakdown used by LinearB and
-- DevLake, as a DevEx feedback loop (DevEx framework, ACM Queue 2023: code
-- review turnaround) and SPACE's efficiency and flow (Forsgren et al.,
-- "The SPACE of Developer Productivity", ACM Queue 2021):
-- * A pull request is (repo, number); its rows merge (earliest created_at and
--   first_commit_at, latest merged_at; merge_sha from a merged row).
-- * First review: the earliest review by someone other than the author
--   (reviews table); a review by the author is not a pickup. When the reviews
--   table has no row for the pull request, the source's first_review_at
--   (already non-author) stands in.
-- * Reviewed: a first review at or before merged_at; otherwise the pull
--   request was merged without review.
-- * coding = created_at - first_commit_at; pickup = first review - created_at;
--   review = merged_at - first review (both only when reviewed);
--   deploy = merged_at - deployed_at of the first production deployment whose
--   changes include merge_sha (DORA's change_lead_times);
--   cycle time = merged_at - first_commit_at. Hours, never below zero; with
--   `devex.exclude_weekends`, Saturdays and Sundays in the report's time zone
--   are left out (the duration function is then weekday_hours, else
--   elapsed_hours).
-- * The pull request belongs to its services (pull_request_scopes: inside a
--   monorepo, those its files touch), else to its repository's
--   (repository_teams), and to the team owning them; and to the window
--   that contains merged_at.
WITH pr AS (
    SELECT repo,
           number,
           max(author) AS author,
           min(created_at) AS created_at,
           min(first_commit_at) AS first_commit_at,
           min(first_review_at) AS source_first_review_at,
           max(merged_at) AS merged_at,
           max(CASE WHEN merged_at IS NOT NULL THEN merge_sha END) AS merge_sha
    FROM pull_requests
    GROUP BY repo, number
    HAVING max(merged_at) IS NOT NULL
),
review AS (
    SELECT r.repo, r.pr_number, min(r.submitted_at) AS first_review_at, count(*) AS reviews
    FROM reviews r
    JOIN pr ON pr.repo = r.repo AND pr.number = r.pr_number
    WHERE r.reviewer <> pr.author
    GROUP BY r.repo, r.pr_number
),
any_review AS (
    SELECT DISTINCT repo, pr_number FROM reviews
),
deployed AS (
    SELECT sha, min(deployed_at) AS deployed_at FROM change_lead_times GROUP BY sha
),
phases AS (
    SELECT pr.*,
           coalesce(scope_team(s.services), t.team) AS team,
           coalesce(s.services, t.services) AS services,
           CASE WHEN any_review.repo IS NOT NULL THEN review.first_review_at
                ELSE pr.source_first_review_at END AS first_review_at,
           deployed.deployed_at
    FROM pr
    LEFT JOIN review ON review.repo = pr.repo AND review.pr_number = pr.number
    LEFT JOIN any_review ON any_review.repo = pr.repo AND any_review.pr_number = pr.number
    LEFT JOIN deployed ON deployed.sha = pr.merge_sha
    LEFT JOIN pull_request_scopes s ON s.repo = pr.repo AND s.number = pr.number
    LEFT JOIN repository_teams t ON t.repo = pr.repo
),
hours AS (
    SELECT *,
           (first_review_at IS NOT NULL AND first_review_at <= merged_at) AS reviewed,
           {{hours}}(first_commit_at, created_at) AS coding,
           CASE WHEN first_review_at <= merged_at THEN {{hours}}(created_at, first_review_at) END AS pickup,
           CASE WHEN first_review_at <= merged_at THEN {{hours}}(first_review_at, merged_at) END AS review,
           {{hours}}(merged_at, deployed_at) AS deploy,
           {{hours}}(first_commit_at, merged_at) AS cycle_time
    FROM phases
)
-- A null stays null; a negative duration (clock skew, a draft opened before
-- its first commit) counts as zero.
SELECT repo, number, author, team, services, created_at, first_commit_at, first_review_at, merged_at,
       merge_sha, deployed_at, reviewed,
       CASE WHEN coding < 0 THEN 0.0 ELSE coding END AS coding_hours,
       CASE WHEN pickup < 0 THEN 0.0 ELSE pickup END AS pickup_hours,
       CASE WHEN review < 0 THEN 0.0 ELSE review END AS review_hours,
       CASE WHEN deploy < 0 THEN 0.0 ELSE deploy END AS deploy_hours,
       CASE WHEN cycle_time < 0 THEN 0.0 ELSE cycle_time END AS cycle_time_hours
FROM hours
