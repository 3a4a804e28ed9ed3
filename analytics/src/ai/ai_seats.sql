-- seats: AI-active people per team (and the organisation, team ''), tool
-- and calendar month of the window, for seat costs.
--
-- Rule (devex's AI contract: `[ai] seat_price` per tool per month times
-- the active seats): a seat is a person AI-active with the tool in the
-- month (ai_usage_days.sql, UTC days inside the window); people count for the
-- teams they were members of on a day of use, as ai_utilization.sql counts them.
--
-- Template values (filled in by analytics::ai): usage_days, from_day, to_day.
WITH usage AS ({{usage_days}}),
scoped AS (
    SELECT m.team, u."user", u.tool, u.day
    FROM usage u
    JOIN team_members m
      ON m.developer = u."user"
     AND m.valid_from < arrow_cast(CAST(u.day + INTERVAL '1 day' AS TIMESTAMP), 'Timestamp(µs, "UTC")')
     AND (m.valid_to IS NULL OR m.valid_to > arrow_cast(CAST(u.day AS TIMESTAMP), 'Timestamp(µs, "UTC")'))
    UNION ALL
    SELECT '' AS team, "user", tool, day FROM usage
)
SELECT team, tool, CAST(date_trunc('month', day) AS DATE) AS month, count(DISTINCT "user") AS seats
FROM scoped
GROUP BY 1, 2, 3
