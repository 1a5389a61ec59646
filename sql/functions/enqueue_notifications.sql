-- enqueue_notifications: many deliveries of one tenant in one call; all or nothing; one NOTIFY.
CREATE OR REPLACE FUNCTION msteams.enqueue_notifications(p_tenant uuid, p_deliveries jsonb)
    RETURNS TABLE (ordinal integer, delivery_id bigint, status text, error_code text, duplicate boolean)
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT e.ordinal, e.delivery_id, e.status, e.error_code, e.duplicate
      FROM msteams._enqueue('enqueue_notifications', p_tenant, p_deliveries, true) AS e
     ORDER BY e.ordinal
$fn$;
ALTER FUNCTION msteams.enqueue_notifications(uuid, jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.enqueue_notifications(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.enqueue_notifications(uuid, jsonb) TO msteams_app;
COMMENT ON FUNCTION msteams.enqueue_notifications(uuid, jsonb) IS
'Queue many notifications of p_tenant in one call: p_deliveries is a JSON array of objects with the arguments of enqueue_notification (category, priority, destination_type, destination_id, payload, internal_notification_id, optional idempotency_key, correlation_id, event_type, run_at, expires_at). All or nothing: one bad delivery fails the call (the error names deliveries[n].field) and writes nothing. One NOTIFY. Returns one row per input, in order.';
