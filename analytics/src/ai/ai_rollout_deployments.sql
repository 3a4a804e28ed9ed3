-- ai_rollout_deployments: counted production deployments per team, month and
-- outcome, for the change failure rate before and after a team's rollout.
--
-- Rule (DORA's change failure rate as analytics::dora computes it:
-- deployment_outcomes, counted and baseline deployments, failed when an
-- incident is attributed to it or it was rolled back); the month is the
-- calendar month (UTC) of deployed_at in [from, to).
--
-- Template values (filled in by analytics::ai): from, to.
SELECT team, date_trunc('month', deployed_at) AS month, failed
FROM deployment_outcomes
WHERE deployed_at >= {{from}} AND deployed_at < {{to}} AND team IS NOT NULL
