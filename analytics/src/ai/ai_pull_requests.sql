-- ai_pull_requests: every pull request merged in the window, whether it was
-- AI-assisted and by which tool, with what the impact comparison needs.
--
-- Rule (devex's AI contract; the comparison DORA 2025's "State of
-- AI-assisted Software Development" and the DX AI Measurement Framework
-- make between AI-assisted and other changes):
-- * merged pull requests and their team, cycle, pickup and review hours
--   come from pull_request_phases (the DevEx definitions, in the window
--   that holds merged_at);
-- * AI-assisted, and the tool, by the first that applies: the pull
--   request's own `ai_tool` (its agent author, a configured label or one of
--   its commits' `Co-authored-by:` trailers, as the collector saw them); a
--   label in `[ai] pr_labels` ({{label_tool}}); its merge commit's `ai_tool`
--   (a squash commit keeps the branch's trailers); a commit pushed together
--   with its merge commit (`pushes.commit_shas`: a merge pushes the branch's
--   commits with it);
-- * size: additions + deletions; null when unknown;
-- * CI: the attempts (ci_attempts) on its merge commit and on the branch
--   head a merge commit merged (its second parent); finished ones count,
--   failed = failure, timed_out or startup_failure;
-- * reworked: a later commit of the same repository, authored within 30
--   days after the merge, whose first line matches the rework pattern
--   ({{rework_pattern}}, DORA's rework rate) and names the pull request
--   (`#N` or GitLab's `!N`: GitHub's revert of a squash or merge commit
--   quotes its title, which names it) or the merge commit's sha (7 or more
--   hex digits). `observed` says whether the 30 days have passed by the
--   newest commit in the lake; only those count in the rework rate.
--
-- Template values (filled in by analytics::ai): from, to, label_tool
-- (a CASE over `label_text`, the labels joined by chr(31) in lower case),
-- rework_pattern.
WITH merged AS (
    SELECT repo, number, author, team, merged_at, merge_sha,
           cycle_time_hours, pickup_hours, review_hours
    FROM pull_request_phases
    WHERE merged_at >= {{from}} AND merged_at < {{to}}
),
rows AS (
    SELECT p.repo, p.number,
           max(p.ai_tool) AS own_tool,
           max(CASE WHEN p.labels IS NOT NULL
                    THEN chr(31) || lower(array_to_string(p.labels, chr(31))) || chr(31) END) AS label_text,
           max(coalesce(p.additions, 0) + coalesce(p.deletions, 0))
               FILTER (WHERE p.additions IS NOT NULL OR p.deletions IS NOT NULL) AS size
    FROM pull_requests p
    JOIN merged m ON m.repo = p.repo AND m.number = p.number
    GROUP BY p.repo, p.number
),
merge_commit AS (
    SELECT c.repo, c.sha, max(c.ai_tool) AS tool, max(c.parents[2]) AS branch_head
    FROM commits c
    JOIN merged m ON m.repo = c.repo AND m.merge_sha = c.sha
    GROUP BY c.repo, c.sha
),
pushed AS (
    SELECT repo, event_id, unnest(commit_shas) AS sha
    FROM pushes
    WHERE pushed_at >= {{from}} - INTERVAL '7 days' AND pushed_at < {{to}} + INTERVAL '7 days'
),
pushed_tool AS (
    SELECT m.repo, m.merge_sha, max(c.ai_tool) AS tool
    FROM merged m
    JOIN pushed p1 ON p1.repo = m.repo AND p1.sha = m.merge_sha
    JOIN pushed p2 ON p2.event_id = p1.event_id
    JOIN commits c ON c.repo = p2.repo AND c.sha = p2.sha
    WHERE c.ai_tool IS NOT NULL
    GROUP BY m.repo, m.merge_sha
),
ci AS (
    SELECT m.repo, m.number,
           count(*) FILTER (WHERE a.conclusion IN ('success', 'failure', 'timed_out', 'startup_failure')) AS ci_attempts,
           count(*) FILTER (WHERE a.conclusion IN ('failure', 'timed_out', 'startup_failure')) AS ci_failures
    FROM merged m
    LEFT JOIN merge_commit mc ON mc.repo = m.repo AND mc.sha = m.merge_sha
    JOIN ci_attempts a
      ON a.repo = m.repo AND (a.sha = m.merge_sha OR a.sha = mc.branch_head)
    GROUP BY m.repo, m.number
),
rework_commit AS (
    SELECT repo, sha, authored_at,
           CAST(regexp_match(message_summary, '[#!]([0-9]+)')[1] AS BIGINT) AS number_named,
           lower(regexp_match(message_summary, '\b([0-9a-fA-F]{7,40})\b')[1]) AS sha_named
    FROM commits
    WHERE authored_at > {{from}} AND authored_at < {{to}} + INTERVAL '30 days'
      AND regexp_like(message_summary, {{rework_pattern}}, 'i')
),
reworked AS (
    SELECT DISTINCT m.repo, m.number
    FROM merged m
    JOIN rework_commit r
      ON r.repo = m.repo
     AND r.authored_at > m.merged_at
     AND r.authored_at <= m.merged_at + INTERVAL '30 days'
     AND r.sha <> coalesce(m.merge_sha, '')
     AND (r.number_named = m.number OR starts_with(lower(m.merge_sha), r.sha_named))
),
newest AS (
    SELECT max(authored_at) AS newest_commit_at FROM commits
)
SELECT m.repo, m.number, m.author, m.team, m.merged_at,
       m.cycle_time_hours, m.pickup_hours, m.review_hours,
       r.size,
       lower(coalesce(r.own_tool, {{label_tool}}, mc.tool, pt.tool)) AS ai_tool,
       coalesce(ci.ci_attempts, 0) AS ci_attempts,
       coalesce(ci.ci_failures, 0) AS ci_failures,
       (w.number IS NOT NULL) AS reworked,
       (m.merged_at + INTERVAL '30 days' <= n.newest_commit_at) AS observed
FROM merged m
CROSS JOIN newest n
LEFT JOIN rows r ON r.repo = m.repo AND r.number = m.number
LEFT JOIN merge_commit mc ON mc.repo = m.repo AND mc.sha = m.merge_sha
LEFT JOIN pushed_tool pt ON pt.repo = m.repo AND pt.merge_sha = m.merge_sha
LEFT JOIN ci ON ci.repo = m.repo AND ci.number = m.number
LEFT JOIN reworked w ON w.repo = m.repo AND w.number = m.number
