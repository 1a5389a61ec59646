-- Put deliveries whose final outcome was failed or skipped back in the outbox, with their kept
-- payload and a fresh attempt budget. Used by retry responses and retry_failed().
CREATE OR REPLACE FUNCTION msteams._requeue(p_tenant uuid, p_delivery_ids bigint[])
    RETURNS TABLE (delivery_id bigint, destination_type text, destination_id text, status text, error_code text)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    WITH dead AS (
        SELECT p.* FROM msteams.dead_letter_payloads AS p
         WHERE p.tenant = p_tenant AND p.delivery_id = ANY (p_delivery_ids)
           FOR UPDATE
    ), judged AS (
        SELECT d.*, greatest(d.attempt_count, la.last_attempt) AS attempts_used,
               dest.transport, dest.conversation_id, dest.skip_code, cat.max_attempts, cat.default_ttl
          FROM dead AS d
         -- a skip used an attempt number too (its ledger row): the next attempt comes after the last one
         CROSS JOIN LATERAL (SELECT coalesce(max(l.attempt_number), 0) AS last_attempt
                               FROM msteams.notification_deliveries AS l
                              WHERE l.tenant = p_tenant AND l.delivery_id = d.delivery_id) AS la
         CROSS JOIN LATERAL msteams._where_to_send(p_tenant, d.destination_type, d.destination_id, d.payload) AS dest
          JOIN msteams.categories AS cat ON cat.category = d.category
    ), queued AS (
        INSERT INTO msteams.outbox AS o
               (tenant, delivery_id, available_at, attempt_count, max_attempts, priority, category,
                destination_type, destination_id, transport, conversation_id, internal_notification_id,
                enqueue_key, event_type, correlation_id, expires_at, payload, created_at)
        SELECT p_tenant, j.delivery_id, now(), j.attempts_used, least(j.attempts_used + j.max_attempts, 50),
               j.priority, j.category, j.destination_type, j.destination_id, j.transport, j.conversation_id,
               j.internal_notification_id, j.enqueue_key, j.event_type, j.correlation_id,
               now() + j.default_ttl, j.payload, j.enqueued_at
          FROM judged AS j WHERE j.skip_code IS NULL
        RETURNING o.delivery_id
    ), unparked AS (
        DELETE FROM msteams.dead_letter_payloads AS p
         USING judged AS j
         WHERE j.skip_code IS NULL AND p.tenant = p_tenant AND p.delivery_id = j.delivery_id
        RETURNING p.delivery_id
    ), recorded AS (
        -- Still cannot be attempted: another skipped ledger row, and the dead letter (payload kept)
        -- records the new skip. Each writer is called once, and not at all when nothing was skipped.
        SELECT (SELECT msteams._write_ledger(
                           p_tenant => array_agg(p_tenant), p_delivery_id => array_agg(j.delivery_id),
                           p_attempt_number => array_agg(j.attempts_used + 1), p_status => array_agg('skipped'::text),
                           p_error_code => array_agg(j.skip_code),
                           p_internal_notification_id => array_agg(j.internal_notification_id),
                           p_category => array_agg(j.category), p_priority => array_agg(j.priority),
                           p_destination_type => array_agg(j.destination_type),
                           p_destination_id => array_agg(j.destination_id), p_event_type => array_agg(j.event_type),
                           p_correlation_id => array_agg(j.correlation_id), p_enqueued_at => array_agg(j.enqueued_at))
                  FROM judged AS j WHERE j.skip_code IS NOT NULL HAVING count(*) > 0) AS ledger_rows,
               (SELECT msteams._write_dead_letters(
                           p_tenant => array_agg(p_tenant), p_delivery_id => array_agg(j.delivery_id),
                           p_final_status => array_agg('skipped'::text), p_error_code => array_agg(j.skip_code),
                           p_attempt_count => array_agg(j.attempt_count::integer),
                           p_internal_notification_id => array_agg(j.internal_notification_id),
                           p_category => array_agg(j.category), p_priority => array_agg(j.priority),
                           p_destination_type => array_agg(j.destination_type),
                           p_destination_id => array_agg(j.destination_id), p_event_type => array_agg(j.event_type),
                           p_correlation_id => array_agg(j.correlation_id), p_enqueue_key => array_agg(j.enqueue_key),
                           p_payload => array_agg(j.payload), p_enqueued_at => array_agg(j.enqueued_at),
                           p_closed_at => now())
                  FROM judged AS j WHERE j.skip_code IS NOT NULL HAVING count(*) > 0) AS dead_letters
    )
    SELECT j.delivery_id, j.destination_type, j.destination_id,
           CASE WHEN j.skip_code IS NULL THEN 'queued' ELSE 'skipped' END, j.skip_code
      FROM judged AS j
     CROSS JOIN recorded        -- read, so that it runs: a WITH query that writes through functions runs only when read
     ORDER BY j.delivery_id;
    IF FOUND THEN
        PERFORM pg_notify('msteams_outbox', '');
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._requeue(uuid, bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION msteams._requeue(uuid, bigint[]) IS
'Internal: move dead-lettered deliveries back to the outbox with a fresh attempt budget and expiry (or record them skipped again when they still cannot be attempted).';
