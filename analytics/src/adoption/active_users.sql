-- active_users: platform use per group (tool, feature or team) in the window.
--
-- Implements the active-user measures product analytics uses for adoption
-- (DAU, WAU and stickiness = DAU/MAU, e.g. Amplitude's and Mixpanel's
-- definitions), over devex's `platform_usage` events:
-- * an event belongs to the window that holds its `at`; its local day and
--   ISO week (Monday first) are those of `at` in the report's time zone
--   ({{tz}});
-- * active_users: distinct users with at least one event in the window;
-- * user_days: the sum over days of that day's distinct users, and
--   user_weeks the same over ISO weeks (only the window's days count); Rust
--   divides them by the window's days and weeks, so days and weeks without
--   events count as 0: dau_mean and wau_mean;
-- * events: the number of events; success, failure and abandoned: how many
--   had each outcome (Rust gives each as a share of the events with an
--   outcome).
--
-- A missing team is the empty text here (Rust reports it as null).
--
-- Template values (filled in by analytics::adoption): from, to, tz,
-- group_key (a column of platform_usage).
WITH events AS (
    SELECT coalesce({{group_key}}, '') AS group_key,
           "user",
           outcome,
           date_trunc('day', to_local_time(at AT TIME ZONE '{{tz}}')) AS day,
           date_trunc('week', to_local_time(at AT TIME ZONE '{{tz}}')) AS week
    FROM platform_usage
    WHERE at >= {{from}} AND at < {{to}}
),
daily AS (
    SELECT group_key, day, count(DISTINCT "user") AS users FROM events GROUP BY group_key, day
),
weekly AS (
    SELECT group_key, week, count(DISTINCT "user") AS users FROM events GROUP BY group_key, week
),
totals AS (
    SELECT group_key,
           count(DISTINCT "user") AS active_users,
           count(*) AS events,
           count(*) FILTER (WHERE outcome = 'success') AS success,
           count(*) FILTER (WHERE outcome = 'failure') AS failure,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
    FROM events
    GROUP BY group_key
)
SELECT t.group_key, t.active_users, t.events, t.success, t.failure, t.abandoned,
       d.user_days, w.user_weeks
FROM totals t
JOIN (SELECT group_key, sum(users) AS user_days FROM daily GROUP BY group_key) d
  ON d.group_key = t.group_key
JOIN (SELECT group_key, sum(users) AS user_weeks FROM weekly GROUP BY group_key) w
  ON w.group_key = t.group_key
