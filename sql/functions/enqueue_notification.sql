-- enqueue_notification: queue one Teams notification in the caller's transaction.
CREATE OR REPLACE FUNCTION msteams.enqueue_notification(
    p_tenant                   uuid,
    p_category                 text,
    p_priority                 text,
    p_destination_type         text,
    p_destination_id           text,
    p_payload                  jsonb,
    p_internal_notification_id text,
    p_idempotency_key          text        DEFAULT NULL,
    p_correlation_id           text        DEFAULT NULL,
    p_event_type               text        DEFAULT NULL,
    p_run_at                   timestamptz DEFAULT NULL,
    p_expires_at               timestamptz DEFAULT NULL,
    OUT delivery_id            bigint,
    OUT status                 text,
    OUT error_code             text,
    OUT duplicate              boolean)
    RETURNS record
    LANGUAGE plpgsql    -- not sql: PostgreSQL 15 would parse and plan a SQL body on every call
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    SELECT e.delivery_id, e.status, e.error_code, e.duplicate
      INTO delivery_id, status, error_code, duplicate
      FROM msteams._enqueue('enqueue_notification', p_tenant,
               jsonb_build_array(jsonb_build_object(
                   'category', p_category, 'priority', p_priority,
                   'destination_type', p_destination_type, 'destination_id', p_destination_id,
                   'payload', p_payload, 'internal_notification_id', p_internal_notification_id,
                   'idempotency_key', p_idempotency_key, 'correlation_id', p_correlation_id,
                   'event_type', p_event_type, 'run_at', p_run_at, 'expires_at', p_expires_at)),
               false) AS e;
END
$fn$;
ALTER FUNCTION msteams.enqueue_notification(uuid, text, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.enqueue_notification(uuid, text, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.enqueue_notification(uuid, text, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) TO msteams_app;
COMMENT ON FUNCTION msteams.enqueue_notification(uuid, text, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) IS
'Queue one Teams notification for p_tenant in the caller''s transaction and NOTIFY msteams_outbox. Idempotent on the enqueue key (p_idempotency_key, else SHA-256 of internal_notification_id|tenant|destination_type|destination_id): a repeat returns the first delivery_id with duplicate = true. A delivery that cannot be attempted (integration_inactive, addon_inactive, user_not_mapped, package_misconfigured) is recorded as skipped with that code. Errors: 22004/22023 naming the field, 42501 when msteams.tenant names another tenant.';
