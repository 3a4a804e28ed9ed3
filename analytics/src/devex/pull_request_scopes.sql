-- pull_request_scopes: the services each pull request of a monorepo belongs to.
--
-- Rule (devex's monorepo contract, `crate::paths`): a pull request belongs
-- to the services its files touch (`pull_requests.files`, from GitHub's
-- pull request files or GitLab's merge request diffs: any stored state that
-- lists them). Where they are unknown (webhooks do not list them), its merge
-- commit's services stand in (commit_scopes, by merge_sha: a squash commit
-- carries the whole change). Without either, it follows its repository
-- (repository_teams).
WITH pr AS (
    SELECT repo,
           number,
           first_value(files ORDER BY event_id) FILTER (WHERE files IS NOT NULL) AS files,
           max(CASE WHEN merged_at IS NOT NULL THEN merge_sha END) AS merge_sha
    FROM pull_requests
    GROUP BY repo, number
)
SELECT repo, number, services
FROM (
    SELECT pr.repo,
           pr.number,
           coalesce(scope_services(pr.repo, pr.files), c.services) AS services
    FROM pr
    LEFT JOIN commit_scopes c ON c.repo = pr.repo AND c.sha = pr.merge_sha
)
WHERE services IS NOT NULL
