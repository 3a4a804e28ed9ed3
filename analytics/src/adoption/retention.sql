-- retention: users by the month of their first platform event, and how many
-- of them were active in each month since.
--
-- Implements monthly cohort retention as product analytics reports it
-- (Amplitude's and Mixpanel's retention: "of the users who started in
-- month M, the share active in month M+k"), as devex's adoption contract
-- states it:
-- * a user's cohort is the calendar month, in the report's time zone
--   ({{tz}}), of their first event in the whole lake; only users whose
--   first event is in the window [from, to) have a cohort;
-- * they are active in a month when they have an event in it (inside the
--   window);
-- * Rust divides each month's active users by the cohort's size (month 0,
--   the cohort's own month, is always all of it) and lists the months from
--   the cohort's to the window's last; a month without activity is 0.
--
-- Template values (filled in by analytics::adoption): from, to, tz.
WITH first_use AS (
    SELECT "user", min(at) AS first_at FROM platform_usage GROUP BY "user"
),
cohort AS (
    SELECT "user", to_char(to_local_time(first_at AT TIME ZONE '{{tz}}'), '%Y-%m') AS cohort
    FROM first_use
    WHERE first_at >= {{from}} AND first_at < {{to}}
),
active AS (
    SELECT DISTINCT "user", to_char(to_local_time(at AT TIME ZONE '{{tz}}'), '%Y-%m') AS month
    FROM platform_usage
    WHERE at >= {{from}} AND at < {{to}}
)
SELECT c.cohort, a.month, count(*) AS users
FROM cohort c
JOIN active a ON a."user" = c."user"
GROUP BY c.cohort, a.month
