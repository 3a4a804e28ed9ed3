-- ai_seats: AI-active people per team (and the organisation, team ''), tool
-- and calendar month of the window, for seat costs.
--
-- Rule (devex's AI contract: `[ai] seat_price` per tool per month times
-- the active seats): a seat is a person AI-active with the tool in the
-- month (ai_usage_days.sql, UTC days inside the window); people count for the
-- teams they were members of on a day of use (ai_usage_teams.sql).
--
-- Template values (filled in by analytics::ai): usage_teams.
SELECT team, tool, CAST(date_trunc('month', day) AS DATE) AS month, count(DISTINCT "user") AS seats
FROM ({{usage_teams}})
GROUP BY 1, 2, 3
