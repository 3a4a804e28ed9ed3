-- pull_request_handoffs: how often the person acting on a pull request changed.
--
-- Implements handoffs per work item, a flow measure of the DevEx framework
-- (ACM Queue 2023: flow state, "interruptions and handoffs") and SPACE's
-- communication and collaboration: in the pull request's work activity
-- (`work_activity.item` = `owner/name#number`) ordered by time, every event
-- by a different developer than the event before it is one handoff.
WITH acts AS (
    SELECT item,
           developer,
           lag(developer) OVER (PARTITION BY item ORDER BY at, developer) AS previous_developer
    FROM work_activity
)
SELECT item,
       sum(CASE WHEN previous_developer IS NOT NULL AND previous_developer <> developer THEN 1 ELSE 0 END) AS handoffs
FROM acts
GROUP BY item
