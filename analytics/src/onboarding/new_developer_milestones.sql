-- new_developer_milestones: each new developer, their team and start-month
-- cohort, and how many days they took to reach each onboarding milestone.
--
-- Implements devex's onboarding contract, after the onboarding measures DX
-- and Swarmia report ("time to first PR", "time to 10th PR") and the DORA
-- view that a change only counts once it reaches production:
-- * A developer's start is the earliest valid_from of their team
--   memberships (team_members). A catalog's first import records its
--   memberships since always (valid_from 0), so only developers added later
--   are ever new. New developers are those whose start is in [from, to).
-- * Their team is the team of the membership that began at the start (a
--   developer who began in two teams at once is new in both); their cohort
--   is the calendar month of the start in the report's time zone ({{tz}}).
-- * first_merged_pr_days: from the start to the merged_at of the first pull
--   request they authored that merged at or after the start;
--   tenth_merged_pr_days: the tenth. A pull request is (repo, number),
--   merged at its latest merged_at.
-- * first_production_change_days: from the start to the earliest production
--   deployment at or after the start (DORA's change_lead_times: the changes
--   the derive stage found in each production deployment) that carried a
--   commit they authored, or the merge commit of a pull request they
--   authored (a squash or rebase merge may name someone else as author).
-- * Days are elapsed time / 86,400 s, fractional. A milestone not reached
--   in the lake's data is null: "not yet", never 0. Milestones after `to`
--   count, so a cohort's numbers fill in as time passes.
--
-- Template values (filled in by analytics::onboarding): from, to, tz.
WITH started AS (
    SELECT developer, min(valid_from) AS started_at
    FROM team_members
    GROUP BY developer
),
new_developer AS (
    SELECT DISTINCT s.developer,
           m.team,
           s.started_at,
           to_char(to_local_time(s.started_at AT TIME ZONE '{{tz}}'), '%Y-%m') AS cohort
    FROM started s
    JOIN team_members m ON m.developer = s.developer AND m.valid_from = s.started_at
    WHERE s.started_at >= {{from}} AND s.started_at < {{to}}
),
merged AS (
    SELECT repo,
           number,
           max(author) AS author,
           max(merged_at) AS merged_at,
           max(CASE WHEN merged_at IS NOT NULL THEN merge_sha END) AS merge_sha
    FROM pull_requests
    GROUP BY repo, number
    HAVING max(merged_at) IS NOT NULL
),
merged_in_order AS (
    SELECT m.author,
           m.merged_at,
           row_number() OVER (PARTITION BY m.author ORDER BY m.merged_at, m.repo, m.number) AS nth
    FROM merged m
    JOIN started s ON s.developer = m.author
    WHERE m.merged_at >= s.started_at
),
merge_milestone AS (
    SELECT author AS developer,
           min(CASE WHEN nth = 1 THEN merged_at END) AS first_merged_at,
           min(CASE WHEN nth = 10 THEN merged_at END) AS tenth_merged_at
    FROM merged_in_order
    GROUP BY author
),
authored AS (
    SELECT sha, author FROM commits WHERE author IS NOT NULL
    UNION
    SELECT merge_sha AS sha, author FROM merged WHERE merge_sha IS NOT NULL AND author IS NOT NULL
),
production_milestone AS (
    SELECT a.author AS developer, min(c.deployed_at) AS first_production_at
    FROM change_lead_times c
    JOIN authored a ON a.sha = c.sha
    JOIN started s ON s.developer = a.author
    WHERE c.deployed_at >= s.started_at
    GROUP BY a.author
)
SELECT n.developer,
       n.team,
       n.cohort,
       (arrow_cast(m.first_merged_at, 'Int64') - arrow_cast(n.started_at, 'Int64'))
           / 86400000000.0 AS first_merged_pr_days,
       (arrow_cast(p.first_production_at, 'Int64') - arrow_cast(n.started_at, 'Int64'))
           / 86400000000.0 AS first_production_change_days,
       (arrow_cast(m.tenth_merged_at, 'Int64') - arrow_cast(n.started_at, 'Int64'))
           / 86400000000.0 AS tenth_merged_pr_days
FROM new_developer n
LEFT JOIN merge_milestone m ON m.developer = n.developer
LEFT JOIN production_milestone p ON p.developer = n.developer
