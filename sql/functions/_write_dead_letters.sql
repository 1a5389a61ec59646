-- The one writer of msteams.dead_letter_payloads: a delivery whose final outcome is failed or
-- skipped keeps its payload here until a retry, a discard, retention or purge. Written at enqueue
-- (skipped), by complete_deliveries (final failure or skip) and by requeue (still skipped: the row
-- it already has records the new skip). Row i of the call is element i of each array, in one
-- INSERT … ON CONFLICT: a delivery that already has a dead letter gets its status, code, attempt
-- count, payload and closing time replaced. Returns how many rows it wrote. Scalar arguments only
-- (Citus), and no clock of its own: the caller passes p_closed_at, computed before the statement
-- (Citus refuses a function that is not IMMUTABLE in ON CONFLICT … DO UPDATE SET).
CREATE OR REPLACE FUNCTION msteams._write_dead_letters(
    p_tenant                   uuid[],
    p_delivery_id              bigint[],
    p_final_status             text[],
    p_error_code               text[],
    p_attempt_count            integer[],
    p_internal_notification_id text[],
    p_category                 text[],
    p_priority                 text[],
    p_destination_type         text[],
    p_destination_id           text[],
    p_event_type               text[],
    p_correlation_id           text[],
    p_enqueue_key              text[],
    p_payload                  jsonb[],
    p_enqueued_at              timestamptz[],
    p_closed_at                timestamptz
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
    INSERT INTO msteams.dead_letter_payloads AS p
           (tenant, delivery_id, final_status, error_code, attempt_count, priority, category, destination_type,
            destination_id, internal_notification_id, enqueue_key, event_type, correlation_id, payload,
            enqueued_at, closed_at)
    SELECT u.tenant, u.delivery_id, u.final_status, u.error_code, u.attempt_count, u.priority, u.category, u.dtype,
           u.did, u.inid, u.enqueue_key, u.event_type, u.correlation_id, u.payload, u.enqueued_at, p_closed_at
      FROM unnest(p_tenant, p_delivery_id, p_final_status, p_error_code, p_attempt_count, p_internal_notification_id,
                  p_category, p_priority, p_destination_type, p_destination_id, p_event_type, p_correlation_id,
                  p_enqueue_key, p_payload, p_enqueued_at)
           AS u(tenant, delivery_id, final_status, error_code, attempt_count, inid, category, priority, dtype, did,
                event_type, correlation_id, enqueue_key, payload, enqueued_at)
    ON CONFLICT ON CONSTRAINT dead_letter_payloads_pkey DO UPDATE
       SET final_status = EXCLUDED.final_status, error_code = EXCLUDED.error_code,
           attempt_count = EXCLUDED.attempt_count, payload = EXCLUDED.payload, closed_at = EXCLUDED.closed_at;
    GET DIAGNOSTICS v_written = ROW_COUNT;
    RETURN v_written;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._write_dead_letters(uuid[], bigint[], text[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], timestamptz[], timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION msteams._write_dead_letters(uuid[], bigint[], text[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], timestamptz[], timestamptz) IS
'Internal: the one writer of dead_letter_payloads. Keeps the payload of each delivery in the arrays (element i of each array is row i) whose final outcome is failed or skipped, in one INSERT … ON CONFLICT (an existing dead letter gets its final_status, error_code, attempt_count, payload and closed_at replaced). closed_at is p_closed_at. Returns the number of rows written.';
