-- The scope a throttle answer pauses: the tenant's Graph app, one bot conversation, or one webhook.
CREATE OR REPLACE FUNCTION msteams._throttle_scope(p_transport text, p_conversation_id text, p_destination_id text)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE p_transport WHEN 'graph' THEN 'graph'
                            WHEN 'bot' THEN 'bot:' || p_conversation_id
                            ELSE 'webhook:' || p_destination_id END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._throttle_scope(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._throttle_scope(text, text, text) IS
'Internal: the throttle_pauses scope of a delivery (graph, bot:<conversation>, webhook:<name>).';
