-- pull_request_lifetimes: one row per pull request (repo, number) with its
-- author and when it was opened, merged and closed, merged from every row the
-- lake holds for it (earliest created_at, latest merged_at and closed_at).
--
-- Implements the pull request states that work in progress needs (SPACE
-- 2021, efficiency and flow; DevEx framework, cognitive load: open pull
-- requests per developer), materialized once per lake content so a report
-- filters one row per pull request instead of grouping every stored state.
SELECT repo,
       number,
       max(author) AS author,
       min(created_at) AS created_at,
       max(merged_at) AS merged_at,
       max(closed_at) AS closed_at
FROM pull_requests
GROUP BY repo, number
