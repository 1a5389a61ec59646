-- The default enqueue key of DESIGN §10 (its other derived key is _ledger_key).
CREATE OR REPLACE FUNCTION msteams._enqueue_key(
    p_internal_notification_id text, p_tenant uuid, p_destination_type text, p_destination_id text)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN encode(sha256(convert_to(
               p_internal_notification_id || '|' || p_tenant::text || '|' || p_destination_type || '|' || p_destination_id,
               'UTF8')), 'hex');
END
$fn$;
REVOKE ALL ON FUNCTION msteams._enqueue_key(text, uuid, text, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._enqueue_key(text, uuid, text, text) IS
'Internal: the default enqueue key, hex SHA-256 of internal_notification_id|tenant|destination_type|destination_id (DESIGN §10).';
