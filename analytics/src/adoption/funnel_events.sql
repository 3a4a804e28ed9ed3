-- funnel_events: the events of one funnel's steps, in each user's order.
--
-- Implements the ordered conversion funnel of product analytics (Amplitude's
-- and Mixpanel's funnels: these steps, in this order, each within a
-- conversion window of the one before) over `platform_usage`, as devex's
-- adoption contract states it:
-- * a funnel is a list of steps `tool:feature` (`tool:*`: any feature of
--   the tool), named in `[adoption.funnels]`;
-- * only events in the window count;
-- * a user reaches step 1 with any event of step 1; step k with an event of
--   step k strictly after an event by which they reached step k-1, and at
--   most `step_days` days after it;
-- * the time between steps k-1 and k is measured from the user's first
--   event reaching step k back to the latest event reaching step k-1
--   before it;
-- * the report gives, per step, the users who reached it, their share of
--   step 1's users, and the median days from the previous step.
--
-- This file selects the events (one row per event and step it matches: an
-- event may match two steps); analytics::adoption::funnels follows each
-- user's chain through them.
--
-- Template values (filled in by analytics::adoption): from, to,
-- step_events (one SELECT of "user", step, at per step, joined by UNION ALL).
SELECT "user", step, at
FROM ({{step_events}}) steps
ORDER BY "user", at, step
