-- retry_failed: send a notification again, only to the destinations whose last outcome was not a success.
CREATE OR REPLACE FUNCTION msteams.retry_failed(p_tenant uuid, p_internal_notification_id text)
    RETURNS TABLE (delivery_id bigint, destination_type text, destination_id text, status text, error_code text)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_tenant('retry_failed', p_tenant);
    IF p_internal_notification_id IS NULL OR p_internal_notification_id = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'retry_failed: internal_notification_id must not be empty',
            COLUMN = 'internal_notification_id', HINT = 'Pass the host''s id of the notification to send again.';
    END IF;
    RETURN QUERY
        SELECT r.delivery_id, r.destination_type, r.destination_id, r.status, r.error_code
          FROM msteams._requeue(p_tenant, ARRAY(
                   SELECT p.delivery_id FROM msteams.dead_letter_payloads AS p
                    WHERE p.tenant = p_tenant AND p.internal_notification_id = p_internal_notification_id)) AS r;
END
$fn$;
ALTER FUNCTION msteams.retry_failed(uuid, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.retry_failed(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.retry_failed(uuid, text) TO msteams_app;
COMMENT ON FUNCTION msteams.retry_failed(uuid, text) IS
'Queue again every destination of notification p_internal_notification_id whose last outcome was failed or skipped (its payload was kept in dead_letter_payloads); destinations that were sent are left alone. Returns one row per destination retried: queued, or skipped with the code that still prevents it.';
