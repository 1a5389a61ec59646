-- The one writer of the delivery ledger (msteams.notification_deliveries): every attempt outcome,
-- whoever records it — a skip at enqueue or requeue, a runner's report (complete_deliveries), a host
-- that sent itself (record_delivery), a discard (record_response). Row i of the call is element i of
-- each array, so a caller with 200 outcomes writes them in one INSERT; the arrays a caller has no
-- value for are left NULL (shorter arrays are padded with NULLs). What a ledger row derives, it
-- derives here:
--   idempotency_key  the ledger key, _ledger_key(internal_notification_id, tenant, type, id, attempt)
--   final            no retry follows (p_retry_at is NULL)
--   retryable        the error code's, from msteams.error_codes; NULL without an error code
--   sent_at          p_sent_at for sent and delivered; delivered_at: p_sent_at for delivered
--   provider ids and error_message kept to their 1,024 characters.
-- Returns how many rows it wrote. Scalar arguments only (Citus), and no clock of its own: the
-- caller passes p_sent_at, computed before the statement.
CREATE OR REPLACE FUNCTION msteams._write_ledger(
    p_tenant                   uuid[],
    p_delivery_id              bigint[],
    p_attempt_number           integer[],
    p_status                   text[],
    p_error_code               text[],
    p_internal_notification_id text[],
    p_category                 text[],
    p_priority                 text[],
    p_destination_type         text[],
    p_destination_id           text[],
    p_event_type               text[],
    p_correlation_id           text[],
    p_enqueued_at              timestamptz[],
    p_retry_at                 timestamptz[] DEFAULT NULL,
    p_status_code              integer[]     DEFAULT NULL,
    p_error_message            text[]        DEFAULT NULL,
    p_provider_message_id      text[]        DEFAULT NULL,
    p_provider_request_id      text[]        DEFAULT NULL,
    p_latency_ms               integer[]     DEFAULT NULL,
    p_worker                   text          DEFAULT NULL,
    p_sent_at                  timestamptz   DEFAULT NULL
)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_written integer;
BEGIN
    IF p_delivery_id IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO msteams.notification_deliveries AS d
           (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
            destination_type, destination_id, idempotency_key, event_type, correlation_id, status_code,
            error_code, error_message, retryable, provider_message_id, provider_request_id, retry_at, worker,
            latency_ms, enqueued_at, sent_at, delivered_at)
    SELECT u.tenant, u.delivery_id, u.attempt_number, u.status, u.retry_at IS NULL, u.inid, u.category, u.priority,
           u.dtype, u.did, msteams._ledger_key(u.inid, u.tenant, u.dtype, u.did, u.attempt_number),
           u.event_type, u.correlation_id, u.status_code, u.error_code, left(u.error_message, 1024),
           CASE WHEN u.error_code IS NOT NULL THEN coalesce(ec.retryable, false) END,
           left(u.provider_message_id, 1024), left(u.provider_request_id, 1024), u.retry_at, p_worker,
           u.latency_ms, u.enqueued_at,
           CASE WHEN u.status IN ('sent', 'delivered') THEN p_sent_at END,
           CASE WHEN u.status = 'delivered' THEN p_sent_at END
      FROM unnest(p_tenant, p_delivery_id, p_attempt_number, p_status, p_error_code, p_internal_notification_id,
                  p_category, p_priority, p_destination_type, p_destination_id, p_event_type, p_correlation_id,
                  p_enqueued_at, p_retry_at, p_status_code, p_error_message, p_provider_message_id,
                  p_provider_request_id, p_latency_ms)
           AS u(tenant, delivery_id, attempt_number, status, error_code, inid, category, priority, dtype, did,
                event_type, correlation_id, enqueued_at, retry_at, status_code, error_message,
                provider_message_id, provider_request_id, latency_ms)
      LEFT JOIN msteams.error_codes AS ec ON ec.error_code = u.error_code;
    GET DIAGNOSTICS v_written = ROW_COUNT;
    RETURN v_written;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._write_ledger(uuid[], bigint[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], timestamptz[], timestamptz[], integer[], text[], text[], text[], integer[], text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION msteams._write_ledger(uuid[], bigint[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], timestamptz[], timestamptz[], integer[], text[], text[], text[], integer[], text, timestamptz) IS
'Internal: the one writer of notification_deliveries. Writes one ledger row per element of the arrays (tenant, delivery_id, attempt_number, status, error_code, … — element i of each array is row i) in one INSERT, deriving the ledger key, final (no p_retry_at), retryable (msteams.error_codes), sent_at/delivered_at (p_sent_at, by status). Returns the number of rows written.';
