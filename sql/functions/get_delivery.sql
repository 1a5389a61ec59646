-- get_delivery: "did this notification go out?" Every attempt outcome in the ledger of one
-- delivery, or of every delivery of one internal_notification_id, oldest first, plus one
-- 'pending' row per delivery still in the outbox (queued, leased, or waiting for a retry).
-- SECURITY INVOKER: row-level security applies; it reads no outbox payload (readers may not).
CREATE OR REPLACE FUNCTION msteams.get_delivery(
    p_tenant                   uuid,
    p_delivery_id              bigint DEFAULT NULL,
    p_internal_notification_id text   DEFAULT NULL
)
    RETURNS TABLE (ledger_id bigint, delivery_id bigint, created_at timestamptz, status text, final boolean,
                   attempt_number smallint, internal_notification_id text, category text, priority text,
                   destination_type text, destination_id text, event_type text, correlation_id text,
                   status_code smallint, error_code text, error_message text, retryable boolean,
                   provider_message_id text, provider_request_id text, retry_at timestamptz,
                   enqueued_at timestamptz, sent_at timestamptz, delivered_at timestamptz,
                   responded_at timestamptz, response_action text)
    LANGUAGE plpgsql
    STABLE
    SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_read_tenant('get_delivery', p_tenant);
    IF (p_delivery_id IS NULL) = (p_internal_notification_id IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('get_delivery: pass exactly one of delivery_id and internal_notification_id (got %s)',
                             CASE WHEN p_delivery_id IS NULL THEN 'neither' ELSE 'both' END),
            COLUMN = 'delivery_id',
            HINT = 'Pass p_delivery_id => <id> for one delivery, or p_internal_notification_id => ''<host id>'' for every delivery of a notification.';
    END IF;
    IF btrim(p_internal_notification_id) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'get_delivery: internal_notification_id must not be blank', COLUMN = 'internal_notification_id',
            HINT = 'Pass the host''s notification id given to enqueue_notification.';
    END IF;

    RETURN QUERY
    WITH attempts AS (
        SELECT d.ledger_id, d.delivery_id, d.created_at, d.status, d.final, d.attempt_number,
               d.internal_notification_id, d.category, d.priority, d.destination_type, d.destination_id,
               d.event_type, d.correlation_id, d.status_code, d.error_code, d.error_message, d.retryable,
               d.provider_message_id, d.provider_request_id, d.retry_at, d.enqueued_at, d.sent_at,
               d.delivered_at, d.responded_at, d.response_action
          FROM msteams.notification_deliveries AS d
         WHERE d.tenant = p_tenant
           AND (p_delivery_id IS NULL OR d.delivery_id = p_delivery_id)
           AND (p_internal_notification_id IS NULL OR d.internal_notification_id = p_internal_notification_id)
        UNION ALL
        -- Still to be attempted: the next attempt (or, while leased, the one in flight), due at
        -- available_at. created_at is the time of this answer, so it sorts after every outcome.
        SELECT NULL::bigint, o.delivery_id, now(), 'pending'::text, false,
               (CASE WHEN o.locked_by IS NULL THEN o.attempt_count + 1 ELSE o.attempt_count END)::smallint,
               o.internal_notification_id, o.category, o.priority, o.destination_type, o.destination_id,
               o.event_type, o.correlation_id, NULL::smallint, o.last_error_code, NULL::text, NULL::boolean,
               NULL::text, NULL::text, o.available_at, o.created_at, NULL::timestamptz, NULL::timestamptz,
               NULL::timestamptz, NULL::text
          FROM msteams.outbox AS o
         WHERE o.tenant = p_tenant
           AND (p_delivery_id IS NULL OR o.delivery_id = p_delivery_id)
           AND (p_internal_notification_id IS NULL OR o.internal_notification_id = p_internal_notification_id))
    SELECT a.*
      FROM attempts AS a
     ORDER BY a.ledger_id IS NULL, a.created_at, a.ledger_id, a.delivery_id;
END
$fn$;
ALTER FUNCTION msteams.get_delivery(uuid, bigint, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.get_delivery(uuid, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.get_delivery(uuid, bigint, text) TO msteams_reader;
COMMENT ON FUNCTION msteams.get_delivery(uuid, bigint, text) IS
'Did this notification go out? Every ledger row (attempt outcome) of delivery p_delivery_id, or of every delivery of p_internal_notification_id (pass exactly one), ordered by created_at, ledger_id (newest last), then one status = pending row per delivery still in the outbox (ledger_id NULL, created_at = now(), attempt_number = the next attempt or the one in flight, retry_at = when it is due, error_code = its last error, final false). Empty when nothing is known. SECURITY INVOKER (row-level security applies). Callers outside msteams_admin read only the tenant in msteams.tenant. Raises 22004 (tenant NULL), 22023 (not exactly one id, blank id), 42501 (another tenant, or msteams.tenant unset).';
