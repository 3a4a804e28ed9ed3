-- repository_teams: the team and services a repository's measures belong to.
--
-- Rule (devex's DevEx contract): repository measures (CI, pull requests)
-- belong to the team that owns the repository's service in the catalog
-- (`services.repos`, `services.owner_team`). A repository in several teams'
-- services goes to the first team by name; one in none has no team.
-- `services` lists every service of the repository: a service filter takes
-- the repository's rows. Inside a monorepo (services scoped to paths), the
-- services of a change come from its files instead (commit_scopes,
-- pull_request_scopes); this table stands in where they are unknown. The
-- catalog's current version of each service decides (the rows with its
-- latest valid_from; a null valid_from is the oldest).
SELECT repo, min(owner_team) AS team, array_sort(array_agg(DISTINCT service)) AS services
FROM (
    SELECT unnest(repos) AS repo, owner_team, service
    FROM (
        SELECT repos,
               owner_team,
               service,
               rank() OVER (PARTITION BY service ORDER BY valid_from DESC NULLS LAST) AS version
        FROM services
    )
    WHERE version = 1
)
GROUP BY repo
