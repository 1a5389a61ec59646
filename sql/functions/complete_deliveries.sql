-- complete_deliveries: record the outcomes of attempts reported by a runner, in one call.
CREATE OR REPLACE FUNCTION msteams.complete_deliveries(p_worker text, p_outcomes jsonb)
    RETURNS TABLE (tenant uuid, delivery_id bigint, outcome text, retry_at timestamptz)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off     -- a pessimistic estimate (bloated, unanalyzed outbox) had LLVM compile every call: docs/benchmarks.md
AS $fn$
DECLARE
    v_bad record;
    -- The clock, read once (now() is the transaction's start anyway) and used as a value: Citus
    -- refuses now() in ON CONFLICT … DO UPDATE SET of a distributed table (docs/scaling.md).
    v_now timestamptz := now();
BEGIN
    IF p_worker IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'complete_deliveries: worker must not be null',
            COLUMN = 'worker', HINT = 'Pass the name the deliveries were claimed with.';
    END IF;
    IF p_outcomes IS NULL OR jsonb_typeof(p_outcomes) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_outcomes IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'complete_deliveries: outcomes must be a JSON array', COLUMN = 'outcomes',
            HINT = 'Pass [{"tenant", "delivery_id", "lease_id", "status", …}, …].';
    END IF;

    -- Validate every outcome before writing anything.
    SELECT e.ordinal, v.field, v.problem, v.hint, v.sqlstate INTO v_bad
      FROM jsonb_array_elements(p_outcomes) WITH ORDINALITY AS e(item, ordinal)
     CROSS JOIN LATERAL (
        SELECT x.field, x.problem, x.hint, x.sqlstate FROM (VALUES
            (1, jsonb_typeof(e.item) <> 'object' OR e.item->>'tenant' IS NULL OR e.item->>'delivery_id' IS NULL
                OR e.item->>'lease_id' IS NULL, 'outcome', 'needs tenant, delivery_id and lease_id',
                'Report the ids claim_deliveries returned.', '22004'),
            (2, e.item->>'status' IS NULL OR e.item->>'status' NOT IN ('sent', 'delivered', 'failed', 'skipped'),
                'status', 'is not one of sent, delivered, failed, skipped', 'Use sent, delivered, failed or skipped.', '22023'),
            (3, e.item->>'status' IN ('failed', 'skipped')
                AND NOT EXISTS (SELECT 1 FROM msteams.error_codes AS ec WHERE ec.error_code = e.item->>'error_code'),
                'error_code', 'is missing or not in the error taxonomy', 'Use a code from msteams.error_codes.', '22023'),
            (4, e.item->>'status' IN ('sent', 'delivered') AND e.item->>'error_code' IS NOT NULL,
                'error_code', 'must be null for a successful attempt', 'Report error_code only with failed or skipped.', '22023'),
            (5, (e.item->>'status_code') IS NOT NULL AND (e.item->>'status_code') !~ '^[1-5][0-9][0-9]$',
                'status_code', 'is not an HTTP status between 100 and 599', 'Report the provider''s HTTP status, or null when none came back.', '22023'),
            (6, (e.item->>'retry_after_seconds') IS NOT NULL
                AND (e.item->>'retry_after_seconds') !~ '^[0-9]{1,7}(\.[0-9]+)?$',
                'retry_after_seconds', 'is not a number of seconds', 'Report Retry-After in seconds (fractions allowed).', '22023')
        ) AS x(n, failed, field, problem, hint, sqlstate)
        WHERE x.failed ORDER BY x.n LIMIT 1) AS v
     ORDER BY e.ordinal LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = v_bad.sqlstate,
            MESSAGE = format('complete_deliveries: outcomes[%s].%s %s', v_bad.ordinal, v_bad.field, v_bad.problem),
            COLUMN = v_bad.field, HINT = v_bad.hint;
    END IF;

    RETURN QUERY
    WITH input AS (
        SELECT DISTINCT ON (x.tenant, x.delivery_id) x.* FROM jsonb_to_recordset(p_outcomes) AS x(
            tenant uuid, delivery_id bigint, lease_id uuid, status text, status_code smallint,
            error_code text, error_message text, provider_message_id text, provider_request_id text,
            retry_after_seconds numeric, latency_ms integer)
    ), held AS (
        -- Only the holder of the current lease may report; a stale report matches nothing.
        SELECT o.tenant, o.delivery_id, o.attempt_count, o.max_attempts, o.expires_at, o.transport,
               o.conversation_id, o.priority, o.category, o.destination_type, o.destination_id,
               o.internal_notification_id, o.enqueue_key, o.event_type, o.correlation_id,
               o.payload, o.created_at,
               i.status, i.status_code, left(i.error_code, 63) AS error_code, i.error_message,
               i.provider_message_id, i.provider_request_id,    -- kept to 1,024 characters by _write_ledger
               make_interval(secs => i.retry_after_seconds::double precision) AS retry_after, i.latency_ms,
               coalesce(ec.retryable, false) AS retryable, coalesce(ec.marks_reference_stale, false) AS stale,
               coalesce(ec.pauses_scope, false) AND i.retry_after_seconds > 0 AS pauses
          FROM input AS i
          JOIN msteams.outbox AS o
            ON o.tenant = i.tenant AND o.delivery_id = i.delivery_id AND o.lease_id = i.lease_id
           AND o.locked_by = p_worker
          LEFT JOIN msteams.error_codes AS ec ON ec.error_code = i.error_code
           FOR UPDATE OF o
    ), decided AS (
        SELECT h.*, n.next_at, n.next_at IS NOT NULL AS retry
          FROM held AS h
         CROSS JOIN LATERAL (
                SELECT CASE WHEN h.status = 'failed' AND h.retryable AND h.attempt_count < h.max_attempts
                            THEN v_now + msteams._retry_delay(h.attempt_count, h.retry_after) END AS at) AS a
         CROSS JOIN LATERAL (   -- no retry that could only start after the delivery expired
                SELECT CASE WHEN h.expires_at IS NULL OR a.at < h.expires_at THEN a.at END AS next_at) AS n
    ), rescheduled AS (
        UPDATE msteams.outbox AS o
           SET available_at = d1.next_at, locked_by = NULL, lease_id = NULL, last_error_code = d1.error_code
          FROM decided AS d1
         WHERE d1.retry AND o.tenant = d1.tenant AND o.delivery_id = d1.delivery_id
        RETURNING o.delivery_id
    ), removed AS (             -- final: the delivery leaves the outbox, and its payload with it …
        DELETE FROM msteams.outbox AS o
         USING decided AS d2
         WHERE NOT d2.retry AND o.tenant = d2.tenant AND o.delivery_id = d2.delivery_id
        RETURNING o.delivery_id
    ), staled AS (              -- the bot was removed or blocked: later deliveries are skipped until revived
        UPDATE msteams.conversation_references AS cr
           SET status = 'stale', stale_reason = d4.error_code, stale_at = v_now
          FROM decided AS d4
         WHERE d4.stale AND d4.transport = 'bot' AND cr.tenant = d4.tenant
           AND cr.conversation_id = d4.conversation_id AND cr.status = 'active'
        RETURNING cr.conversation_id
    ), pauses AS (              -- Microsoft throttled a scope: pause it for every runner, durably …
        INSERT INTO msteams.throttle_pauses AS tp (tenant, scope, paused_until, error_code)
        SELECT DISTINCT ON (d6.tenant, x.scope) d6.tenant, x.scope, v_now + d6.retry_after, d6.error_code
          FROM decided AS d6
         CROSS JOIN LATERAL (SELECT msteams._throttle_scope(d6.transport, d6.conversation_id, d6.destination_id) AS scope) AS x
         WHERE d6.pauses
         ORDER BY d6.tenant, x.scope, d6.retry_after DESC
        ON CONFLICT ON CONSTRAINT throttle_pauses_pkey DO UPDATE
           SET paused_until = greatest(tp.paused_until, EXCLUDED.paused_until), error_code = EXCLUDED.error_code,
               created_at = v_now
        RETURNING tp.tenant, tp.scope, tp.paused_until
    ), pushed AS (              -- … and move the scope's due deliveries past the pause
        UPDATE msteams.outbox AS o
           SET available_at = p.paused_until
          FROM pauses AS p
         -- Gate: with no pause (nearly every call) the outbox is not read at all. Without it the
         -- planner may start with the outbox and read through it (a bloated one: all of it).
         WHERE EXISTS (SELECT 1 FROM pauses)
           AND o.tenant = p.tenant AND o.locked_by IS NULL AND o.available_at < p.paused_until
           AND msteams._throttle_scope(o.transport, o.conversation_id, o.destination_id) = p.scope
        RETURNING o.delivery_id
    ), recorded AS (
        -- One ledger row per outcome (final unless a retry is scheduled); a final failure or skip
        -- keeps its payload in the dead letters, for a retry or a discard. One call of each writer.
        SELECT (SELECT msteams._write_ledger(
                           p_tenant => array_agg(d7.tenant), p_delivery_id => array_agg(d7.delivery_id),
                           p_attempt_number => array_agg(d7.attempt_count::integer), p_status => array_agg(d7.status),
                           p_error_code => array_agg(d7.error_code),
                           p_internal_notification_id => array_agg(d7.internal_notification_id),
                           p_category => array_agg(d7.category), p_priority => array_agg(d7.priority),
                           p_destination_type => array_agg(d7.destination_type),
                           p_destination_id => array_agg(d7.destination_id), p_event_type => array_agg(d7.event_type),
                           p_correlation_id => array_agg(d7.correlation_id), p_enqueued_at => array_agg(d7.created_at),
                           p_retry_at => array_agg(d7.next_at), p_status_code => array_agg(d7.status_code::integer),
                           p_error_message => array_agg(d7.error_message),
                           p_provider_message_id => array_agg(d7.provider_message_id),
                           p_provider_request_id => array_agg(d7.provider_request_id),
                           p_latency_ms => array_agg(d7.latency_ms), p_worker => p_worker, p_sent_at => v_now)
                  FROM decided AS d7 HAVING count(*) > 0) AS ledger_rows,
               (SELECT msteams._write_dead_letters(
                           p_tenant => array_agg(d3.tenant), p_delivery_id => array_agg(d3.delivery_id),
                           p_final_status => array_agg(d3.status), p_error_code => array_agg(d3.error_code),
                           p_attempt_count => array_agg(d3.attempt_count::integer),
                           p_internal_notification_id => array_agg(d3.internal_notification_id),
                           p_category => array_agg(d3.category), p_priority => array_agg(d3.priority),
                           p_destination_type => array_agg(d3.destination_type),
                           p_destination_id => array_agg(d3.destination_id), p_event_type => array_agg(d3.event_type),
                           p_correlation_id => array_agg(d3.correlation_id), p_enqueue_key => array_agg(d3.enqueue_key),
                           p_payload => array_agg(d3.payload), p_enqueued_at => array_agg(d3.created_at),
                           p_closed_at => v_now)
                  FROM decided AS d3
                 WHERE NOT d3.retry AND d3.status IN ('failed', 'skipped') HAVING count(*) > 0) AS dead_letters
    )
    SELECT d5.tenant, d5.delivery_id,
           CASE WHEN d5.retry THEN 'retry_scheduled' ELSE 'final' END, d5.next_at
      FROM decided AS d5
     CROSS JOIN recorded        -- read, so that it runs: a WITH query that writes through functions runs only when read
    UNION ALL
    SELECT i.tenant, i.delivery_id, 'lease_lost', NULL::timestamptz
      FROM input AS i
     WHERE NOT EXISTS (SELECT 1 FROM held AS h WHERE h.tenant = i.tenant AND h.delivery_id = i.delivery_id);
END
$fn$;
ALTER FUNCTION msteams.complete_deliveries(text, jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.complete_deliveries(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.complete_deliveries(text, jsonb) TO msteams_runner;
COMMENT ON FUNCTION msteams.complete_deliveries(text, jsonb) IS
'Record attempt outcomes reported by runner p_worker: a JSON array of {tenant, delivery_id, lease_id, status (sent|delivered|failed|skipped), status_code, error_code, error_message, provider_message_id, provider_request_id, retry_after_seconds, latency_ms}. One ledger row per attempt. A failure with a retryable code (msteams.error_codes) and attempts left is rescheduled (capped exponential backoff with jitter, never sooner than Retry-After, never after expiry); otherwise the delivery is final and leaves the outbox (a failed or skipped one keeps its payload in dead_letter_payloads). Codes that mark a reference stale make the bot conversation stale; a throttle code with Retry-After pauses its scope (msteams.throttle_pauses) for every runner and moves the scope''s due deliveries past the pause. An outcome whose lease p_worker no longer holds changes nothing and comes back as lease_lost.';
