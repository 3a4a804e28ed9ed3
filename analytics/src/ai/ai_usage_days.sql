-- ai_usage_days: AI assistant use per person, tool, surface and day in the
-- window, as the measures count it (a subquery the other AI files read).
--
-- Rule (devex's AI contract, over `ai_usage` as GitHub's Copilot usage
-- metrics and other assistants' exports report it):
-- * a row's key is (user, tool, day, surface, editor, language); a day is
--   often reported again as it becomes final, so of a key's rows only the
--   latest `reported_at` counts (then the greatest event_id, so the choice
--   never depends on file order);
-- * tools compare in lower case; `day` is the assistant's (UTC) day, and
--   the window takes the days from {{from_day}} to before {{to_day}};
-- * a person is AI-active on a day when any row names them that day (the
--   assistants report people who used them);
-- * suggestions, acceptances and lines sum over the day's rows.
SELECT "user", tool, surface, day,
       sum(interactions) AS interactions,
       sum(suggestions) AS suggestions,
       sum(acceptances) AS acceptances,
       sum(lines_suggested) AS lines_suggested,
       sum(lines_accepted) AS lines_accepted
FROM (
    SELECT "user", lower(tool) AS tool, surface, day,
           interactions, suggestions, acceptances, lines_suggested, lines_accepted,
           row_number() OVER (
               PARTITION BY "user", lower(tool), day, surface, editor, language
               ORDER BY reported_at DESC NULLS LAST, event_id DESC
           ) AS version
    FROM ai_usage
    WHERE day >= {{from_day}} AND day < {{to_day}} AND "user" IS NOT NULL
)
WHERE version = 1
GROUP BY "user", tool, surface, day
