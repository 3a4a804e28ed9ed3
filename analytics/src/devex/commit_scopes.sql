-- commit_scopes: the services each commit of a monorepo belongs to.
--
-- Rule (devex's monorepo contract, `crate::paths`): in a repository with
-- services scoped to paths (`devex.io/paths`), a commit belongs to the
-- services without paths and to those whose paths one of its files
-- (`commits.files`) matches; `scope_services` applies it. A commit stored
-- twice (a push and an API pull) takes the first row that lists its files.
-- Only commits with known files in such repositories have a row: the others
-- follow their repository (repository_teams).
SELECT repo, sha, services
FROM (
    SELECT repo, sha, scope_services(repo, files) AS services
    FROM (
        SELECT repo, sha, first_value(files ORDER BY event_id) AS files
        FROM commits
        WHERE files IS NOT NULL
        GROUP BY repo, sha
    )
)
WHERE services IS NOT NULL
