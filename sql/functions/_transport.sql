-- Which transport carries a delivery: webhook → the Workflows webhook; user_activity → Graph
-- activity feed; chat/channel → Graph when the payload is an activity feed notification
-- (it has activityType), else a bot message through the conversation's serviceUrl.
CREATE OR REPLACE FUNCTION msteams._transport(p_destination_type text, p_payload jsonb)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE
        WHEN p_destination_type = 'webhook' THEN 'webhook'
        WHEN p_destination_type = 'user_activity' THEN 'graph'
        WHEN p_payload ? 'activityType' THEN 'graph'
        ELSE 'bot'
    END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._transport(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION msteams._transport(text, jsonb) IS
'Internal: graph, bot or webhook, from the destination type and the payload''s shape.';
