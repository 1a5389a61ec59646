-- The largest payload (bytes of its JSON text) pgteams accepts per transport (TEAMS_FACTS §2, §3, §5):
-- bot messages: Microsoft's limit is ~100 KB; it advises staying under 80 KB. Workflows webhooks:
-- 28 KB. Graph activity feed: no documented limit; 64 KB is our own cap (it is a preview and a link).
CREATE OR REPLACE FUNCTION msteams._payload_limit(p_transport text)
    RETURNS integer
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE p_transport WHEN 'bot' THEN 81920 WHEN 'webhook' THEN 28672 ELSE 65536 END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._payload_limit(text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._payload_limit(text) IS
'Internal: payload size limit in bytes per transport (bot 80 KB, webhook 28 KB, Graph activity feed 64 KB).';
