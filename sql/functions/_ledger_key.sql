-- The ledger key of one attempt, DESIGN §10 (its other derived key is _enqueue_key).
CREATE OR REPLACE FUNCTION msteams._ledger_key(
    p_internal_notification_id text, p_tenant uuid, p_destination_type text, p_destination_id text,
    p_attempt_number integer)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN encode(sha256(convert_to(
               p_internal_notification_id || '|' || p_tenant::text || '|' || p_destination_type || '|'
               || p_destination_id || '|' || p_attempt_number::text,
               'UTF8')), 'hex');
END
$fn$;
REVOKE ALL ON FUNCTION msteams._ledger_key(text, uuid, text, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION msteams._ledger_key(text, uuid, text, text, integer) IS
'Internal: the ledger key of one attempt, hex SHA-256 of internal_notification_id|tenant|destination_type|destination_id|attempt_number (DESIGN §10).';
