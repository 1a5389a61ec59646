-- The enqueue core shared by enqueue_notification, enqueue_notifications and enqueue_to_route:
-- validate a JSON array of deliveries, derive keys, decide queue-or-skip, write, NOTIFY once.
-- Set-based throughout, so a bulk call of 1,000 costs a few statements, not 1,000 loops.
--
-- Why the small helpers it calls (_transport, _payload_limit, _to_timestamptz, _enqueue_key,
-- _ledger_key, _throttle_scope, _enqueue_problems) are PL/pgSQL, not SQL: a LANGUAGE sql function
-- with a SET clause (we pin search_path everywhere) is never inlined, and PostgreSQL 15 parses and
-- plans its body again in every statement that calls it, at every call site. A PL/pgSQL body is
-- compiled once per session. On one enqueue_notification call that was ~0.5 ms of ~1.6 ms
-- (docs/benchmarks.md, "SQL core"). The one SQL helper, _where_to_send, is written to be inlined
-- (no SET clause), which is what keeps the destination lookups of a bulk call set-based.

CREATE OR REPLACE FUNCTION msteams._enqueue(p_function text, p_tenant uuid, p_items jsonb, p_bulk boolean)
    RETURNS TABLE (ordinal integer, delivery_id bigint, status text, error_code text, duplicate boolean)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_problem  record;
    v_count    integer;
    v_ordinals integer[];
    v_ids      bigint[];
    v_codes    text[];
    v_notify   boolean;
BEGIN
    PERFORM msteams._assert_tenant(p_function, p_tenant);
    IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_items IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = format('%s: deliveries must be a JSON array', p_function), COLUMN = 'deliveries',
            HINT = 'Pass a JSON array of delivery objects.';
    END IF;
    v_count := jsonb_array_length(p_items);
    IF v_count = 0 THEN
        RETURN;
    END IF;
    IF v_count > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: %s deliveries in one call is over the limit of 10000', p_function, v_count),
            COLUMN = 'deliveries', HINT = 'Split the batch into calls of at most 10,000 (1,000 is plenty).';
    END IF;

    SELECT * INTO v_problem FROM msteams._enqueue_problems(p_items) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = v_problem.sqlstate,
            MESSAGE = format('%s: %s%s %s', p_function,
                             CASE WHEN p_bulk THEN format('deliveries[%s].', v_problem.ordinal) ELSE '' END,
                             v_problem.field, v_problem.problem),
            COLUMN = v_problem.field, HINT = v_problem.hint;
    END IF;

    -- Every write of the call in one statement. The key row is inserted first: a concurrent call
    -- with the same key waits on it, then finds it taken (ON CONFLICT DO NOTHING) and returns ours.
    WITH items AS (
        SELECT e.ordinal::integer AS ordinal,
               e.item->>'category' AS category, e.item->>'priority' AS priority,
               e.item->>'destination_type' AS destination_type, e.item->>'destination_id' AS destination_id,
               e.item->'payload' AS payload, e.item->>'internal_notification_id' AS inid,
               e.item->>'correlation_id' AS correlation_id, e.item->>'event_type' AS event_type,
               coalesce(msteams._to_timestamptz(e.item->>'run_at'), now()) AS run_at,
               msteams._to_timestamptz(e.item->>'expires_at') AS expires_at,
               coalesce(e.item->>'idempotency_key',
                        msteams._enqueue_key(e.item->>'internal_notification_id', p_tenant,
                                             e.item->>'destination_type', e.item->>'destination_id')) AS enqueue_key
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, ordinal)
    ), reps AS (            -- one delivery per key, also when a batch repeats a key
        SELECT DISTINCT ON (i.enqueue_key) i.* FROM items AS i ORDER BY i.enqueue_key, i.ordinal
    ), keys AS (
        INSERT INTO msteams.idempotency_keys AS k (tenant, scope, idempotency_key, ref_id)
        SELECT p_tenant, 'enqueue', r.enqueue_key, nextval('msteams.delivery_id_seq')
          FROM reps AS r ORDER BY r.enqueue_key            -- a fixed order: no deadlock between batches
        ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING
        RETURNING k.idempotency_key, k.ref_id
    ), new AS (
        SELECT r.*, k.ref_id AS delivery_id, dest.transport, dest.conversation_id, dest.skip_code,
               cat.max_attempts, tp.paused_until,
               coalesce(r.expires_at, greatest(r.run_at, now()) + cat.default_ttl) AS expires_at_final
          FROM reps AS r
          JOIN keys AS k ON k.idempotency_key = r.enqueue_key
         CROSS JOIN LATERAL msteams._where_to_send(p_tenant, r.destination_type, r.destination_id, r.payload) AS dest
          JOIN msteams.categories AS cat ON cat.category = r.category
          LEFT JOIN msteams.throttle_pauses AS tp          -- a scope Microsoft paused: queue behind the pause
                 ON tp.tenant = p_tenant AND tp.paused_until > now()
                AND tp.scope = msteams._throttle_scope(dest.transport, dest.conversation_id, r.destination_id)
    ), queued AS (
        INSERT INTO msteams.outbox AS o
               (tenant, delivery_id, available_at, max_attempts, priority, category, destination_type,
                destination_id, transport, conversation_id, internal_notification_id, enqueue_key,
                event_type, correlation_id, expires_at, payload)
        SELECT p_tenant, n.delivery_id, greatest(n.run_at, n.paused_until), n.max_attempts, n.priority, n.category, n.destination_type,
               n.destination_id, n.transport, n.conversation_id, n.inid, n.enqueue_key,
               n.event_type, n.correlation_id, n.expires_at_final, n.payload
          FROM new AS n WHERE n.skip_code IS NULL
        RETURNING o.delivery_id
    ), recorded AS (
        -- A skipped delivery gets its ledger row (attempt 1, final) and keeps its payload for
        -- retry_failed / a retry response. Each writer is called once, for every skip of the call,
        -- and not at all when nothing was skipped.
        SELECT (SELECT msteams._write_ledger(
                           p_tenant => array_agg(p_tenant), p_delivery_id => array_agg(n.delivery_id),
                           p_attempt_number => array_agg(1), p_status => array_agg('skipped'::text),
                           p_error_code => array_agg(n.skip_code), p_internal_notification_id => array_agg(n.inid),
                           p_category => array_agg(n.category), p_priority => array_agg(n.priority),
                           p_destination_type => array_agg(n.destination_type),
                           p_destination_id => array_agg(n.destination_id), p_event_type => array_agg(n.event_type),
                           p_correlation_id => array_agg(n.correlation_id), p_enqueued_at => array_agg(now()))
                  FROM new AS n WHERE n.skip_code IS NOT NULL HAVING count(*) > 0) AS ledger_rows,
               (SELECT msteams._write_dead_letters(
                           p_tenant => array_agg(p_tenant), p_delivery_id => array_agg(n.delivery_id),
                           p_final_status => array_agg('skipped'::text), p_error_code => array_agg(n.skip_code),
                           p_attempt_count => array_agg(0), p_internal_notification_id => array_agg(n.inid),
                           p_category => array_agg(n.category), p_priority => array_agg(n.priority),
                           p_destination_type => array_agg(n.destination_type),
                           p_destination_id => array_agg(n.destination_id), p_event_type => array_agg(n.event_type),
                           p_correlation_id => array_agg(n.correlation_id), p_enqueue_key => array_agg(n.enqueue_key),
                           p_payload => array_agg(n.payload), p_enqueued_at => array_agg(now()), p_closed_at => now())
                  FROM new AS n WHERE n.skip_code IS NOT NULL HAVING count(*) > 0) AS dead_letters
    )
    SELECT array_agg(n.ordinal), array_agg(n.delivery_id), array_agg(n.skip_code),
           coalesce(bool_or(n.skip_code IS NULL AND n.run_at <= now()), false)
      INTO v_ordinals, v_ids, v_codes, v_notify
      FROM new AS n
     CROSS JOIN recorded;       -- read, so that it runs: a WITH query that writes through functions runs only when read

    IF v_notify THEN
        PERFORM pg_notify('msteams_outbox', '');   -- no payload: coalesces to one per transaction
    END IF;

    RETURN QUERY
        SELECT u.ordinal, u.delivery_id, CASE WHEN u.code IS NULL THEN 'queued' ELSE 'skipped' END, u.code, false
          FROM unnest(v_ordinals, v_ids, v_codes) AS u(ordinal, delivery_id, code);

    IF coalesce(cardinality(v_ordinals), 0) < v_count THEN
        -- Repeats (of an earlier call, or of a key earlier in this batch): the first delivery's id
        -- and where it stands now. A fresh snapshot sees a concurrent first call that just committed.
        RETURN QUERY
            SELECT e.ordinal::integer, k.ref_id,
                   CASE WHEN ob.delivery_id IS NOT NULL THEN 'queued' ELSE coalesce(last.status, 'unknown') END,
                   CASE WHEN ob.delivery_id IS NOT NULL THEN NULL::text ELSE last.error_code END,
                   true
              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, ordinal)
              JOIN msteams.idempotency_keys AS k
                ON k.tenant = p_tenant AND k.scope = 'enqueue'
               AND k.idempotency_key = coalesce(e.item->>'idempotency_key',
                       msteams._enqueue_key(e.item->>'internal_notification_id', p_tenant,
                                            e.item->>'destination_type', e.item->>'destination_id'))
              LEFT JOIN msteams.outbox AS ob ON ob.tenant = p_tenant AND ob.delivery_id = k.ref_id
              LEFT JOIN LATERAL (
                    SELECT d.status, d.error_code FROM msteams.notification_deliveries AS d
                     WHERE d.tenant = p_tenant AND d.delivery_id = k.ref_id
                     ORDER BY d.created_at DESC, d.ledger_id DESC LIMIT 1) AS last ON true
             WHERE NOT (e.ordinal::integer = ANY (coalesce(v_ordinals, '{}')));
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._enqueue(text, uuid, jsonb, boolean) FROM PUBLIC;
COMMENT ON FUNCTION msteams._enqueue(text, uuid, jsonb, boolean) IS
'Internal: validate and enqueue a JSON array of deliveries for one tenant (queued, or skipped with its code); repeats return the first delivery. NOTIFY msteams_outbox once.';
