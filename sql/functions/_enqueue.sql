-- The enqueue core shared by enqueue_notification, enqueue_notifications and enqueue_to_route:
-- validate a JSON array of deliveries, derive keys, decide queue-or-skip, write, NOTIFY once.
-- Set-based throughout, so a bulk call of 1,000 costs a few statements, not 1,000 loops.
--
-- Why the small helpers here and in _delivery_keys.sql / _skip_code.sql are PL/pgSQL, not SQL:
-- a LANGUAGE sql function with a SET clause (we pin search_path everywhere) is never inlined, and
-- PostgreSQL 15 parses and plans its body again in every statement that calls it, at every call
-- site. A PL/pgSQL body is compiled once per session. On one enqueue_notification call that was
-- ~0.5 ms of ~1.6 ms (docs/benchmarks.md, "SQL core").

-- A timestamptz from text, or NULL when the text is not one (PostgreSQL 15 has no pg_input_is_valid).
CREATE OR REPLACE FUNCTION msteams._to_timestamptz(p_value text)
    RETURNS timestamptz
    LANGUAGE plpgsql
    STABLE
    STRICT          -- NULL in, NULL out, without entering the exception block (a subtransaction)
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN p_value::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._to_timestamptz(text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._to_timestamptz(text) IS 'Internal: text to timestamptz, NULL when it is not a valid timestamp.';

-- Which transport carries a delivery: webhook → the Workflows webhook; user_activity → Graph
-- activity feed; chat/channel → Graph when the payload is an activity feed notification
-- (it has activityType), else a bot message through the conversation's serviceUrl.
CREATE OR REPLACE FUNCTION msteams._transport(p_destination_type text, p_payload jsonb)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE
        WHEN p_destination_type = 'webhook' THEN 'webhook'
        WHEN p_destination_type = 'user_activity' THEN 'graph'
        WHEN p_payload ? 'activityType' THEN 'graph'
        ELSE 'bot'
    END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._transport(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION msteams._transport(text, jsonb) IS
'Internal: graph, bot or webhook, from the destination type and the payload''s shape.';

-- The largest payload (bytes of its JSON text) pgteams accepts per transport (TEAMS_FACTS §2, §3, §5):
-- bot messages: Microsoft's limit is ~100 KB; it advises staying under 80 KB. Workflows webhooks:
-- 28 KB. Graph activity feed: no documented limit; 64 KB is our own cap (it is a preview and a link).
CREATE OR REPLACE FUNCTION msteams._payload_limit(p_transport text)
    RETURNS integer
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE p_transport WHEN 'bot' THEN 81920 WHEN 'webhook' THEN 28672 ELSE 65536 END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._payload_limit(text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._payload_limit(text) IS
'Internal: payload size limit in bytes per transport (bot 80 KB, webhook 28 KB, Graph activity feed 64 KB).';

-- The first problem of each invalid delivery in p_items (none for a valid array), in item order.
-- Shaped for cost (docs/benchmarks.md, "SQL core"): PL/pgSQL, so the plan is made once per session
-- rather than on every call; the per-item values in `f` are computed once (OFFSET 0 keeps the
-- planner from copying their expressions into every check that uses them); and each check is a
-- UNION ALL branch whose message is only built when the check fails. (A VALUES list evaluated
-- per item would set up all its rows' expressions again for every item.)
CREATE OR REPLACE FUNCTION msteams._enqueue_problems(p_items jsonb)
    RETURNS TABLE (ordinal integer, field text, problem text, hint text, sqlstate text)
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT e.ordinal::integer, c.field, c.problem, c.hint, c.sqlstate
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, ordinal)
     CROSS JOIN LATERAL (
        SELECT CASE WHEN jsonb_typeof(e.item) = 'object' THEN e.item ELSE '{}'::jsonb END AS item) AS o
     CROSS JOIN LATERAL (
        SELECT o.item->>'category' AS category, o.item->>'priority' AS priority,
               o.item->>'destination_type' AS dtype, o.item->>'destination_id' AS did,
               nullif(o.item->'payload', 'null'::jsonb) AS payload,
               o.item->>'internal_notification_id' AS inid,
               msteams._transport(o.item->>'destination_type', o.item->'payload') AS transport,
               EXISTS (SELECT 1 FROM jsonb_object_keys(o.item) AS k(key)
                        WHERE k.key NOT IN ('category', 'priority', 'destination_type', 'destination_id', 'payload',
                                            'internal_notification_id', 'idempotency_key', 'correlation_id',
                                            'event_type', 'run_at', 'expires_at')) AS unknown_field,
               EXISTS (SELECT 1 FROM msteams.categories AS c WHERE c.category = o.item->>'category') AS category_known,
               CASE WHEN jsonb_typeof(o.item->'payload'->'attachments') = 'array' THEN NOT EXISTS (
                        SELECT 1 FROM jsonb_array_elements(o.item->'payload'->'attachments') AS a(att)
                         WHERE a.att->>'contentType' IS DISTINCT FROM 'application/vnd.microsoft.card.adaptive'
                            OR a.att->'content'->>'type' IS DISTINCT FROM 'AdaptiveCard') END AS cards_only
         OFFSET 0) AS f
     CROSS JOIN LATERAL (
        SELECT v.field, v.problem, v.hint, v.sqlstate
          FROM (
            SELECT 1 AS n, 'delivery'::text AS field, 'is not a JSON object'::text AS problem,
                   'Pass each delivery as an object with category, priority, destination_type, destination_id, payload and internal_notification_id.'::text AS hint,
                   '22023'::text AS sqlstate
             WHERE jsonb_typeof(e.item) <> 'object'
            UNION ALL
            SELECT 2, 'delivery', 'has an unknown field',
                   'Known fields: category, priority, destination_type, destination_id, payload, internal_notification_id, idempotency_key, correlation_id, event_type, run_at, expires_at.', '22023'
             WHERE f.unknown_field
            UNION ALL
            SELECT 3, 'category', 'must not be null',
                   'Pass a category registered in msteams.categories (assignment, customer_reply, approval_request, escalation, sla_risk, or one added with register_category).', '22004'
             WHERE f.category IS NULL
            UNION ALL
            SELECT 4, 'category', format('%L is not known', left(f.category, 64)),
                   'Use a category registered in msteams.categories (assignment, customer_reply, approval_request, escalation, sla_risk, or one added with register_category).', '22023'
             WHERE NOT f.category_known
            UNION ALL
            SELECT 5, 'priority', 'must not be null',
                   'Use one of: critical, high, medium, low, info.', '22004'
             WHERE f.priority IS NULL
            UNION ALL
            SELECT 6, 'priority', format('%L is not known', left(f.priority, 64)),
                   'Use one of: critical, high, medium, low, info.', '22023'
             WHERE f.priority NOT IN ('critical', 'high', 'medium', 'low', 'info')
            UNION ALL
            SELECT 7, 'destination_type', 'must not be null',
                   'Use one of: user_activity, chat, channel, webhook.', '22004'
             WHERE f.dtype IS NULL
            UNION ALL
            SELECT 8, 'destination_type', format('%L is not known', left(f.dtype, 64)),
                   'Use one of: user_activity, chat, channel, webhook.', '22023'
             WHERE f.dtype NOT IN ('user_activity', 'chat', 'channel', 'webhook')
            UNION ALL
            SELECT 9, 'destination_id', 'must not be empty',
                   'Pass the Entra user id or UPN, the chat or channel conversation id, or the webhook name.', '22004'
             WHERE f.did IS NULL OR f.did = ''
            UNION ALL
            SELECT 10, 'destination_id', 'is longer than 512 characters',
                   'Pass an id, not a document.', '22023'
             WHERE length(f.did) > 512
            UNION ALL
            SELECT 11, 'destination_id', 'must be the name of a webhook registered with set_webhook, never its URL',
                   'Register the URL once with msteams.set_webhook(tenant, name, url) and pass the name: a webhook URL is a secret and must not reach the ledger.', '22023'
             WHERE f.dtype = 'webhook' AND f.did ~ '://'
            UNION ALL
            SELECT 12, 'destination_id', format('does not have the shape of a %s destination', f.dtype),
                   CASE f.dtype
                    WHEN 'user_activity' THEN 'Pass the user''s Entra object id (a GUID) or UPN.'
                    WHEN 'chat' THEN 'Pass a chat id (19:…) for an activity feed notification; a conversation id (a:…, 19:…) or the user''s Entra object id for a bot message.'
                    WHEN 'channel' THEN 'Pass a channel conversation id (19:…@thread.tacv2) for a bot message, or the team id (a GUID) for an activity feed notification.'
                    ELSE 'Pass the name the webhook was registered under with set_webhook (letters, digits, _ . -).' END, '22023'
             WHERE NOT coalesce(CASE f.dtype
                WHEN 'user_activity' THEN f.did ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                       OR f.did ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'
                WHEN 'chat' THEN CASE f.transport
                     WHEN 'graph' THEN f.did ~ '^19:\S+$'
                     ELSE f.did ~ '^(a:|19:|29:|8:)\S+$'
                       OR f.did ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' END
                WHEN 'channel' THEN CASE f.transport
                     WHEN 'graph' THEN f.did ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                     ELSE f.did ~ '^19:\S+@thread\.(tacv2|skype)$' END
                WHEN 'webhook' THEN f.did ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
                ELSE true END, false)
            UNION ALL
            SELECT 13, 'payload', 'must not be null',
                   'Pass the message to send as a JSON object.', '22004'
             WHERE f.payload IS NULL
            UNION ALL
            SELECT 14, 'payload', 'must be a JSON object',
                   'Pass the message to send as a JSON object.', '22023'
             WHERE jsonb_typeof(f.payload) <> 'object'
            UNION ALL
            SELECT 15, 'payload', format('is not a valid %s payload',
                                  CASE f.transport WHEN 'graph' THEN 'activity feed notification'
                                                   WHEN 'bot' THEN 'bot message' ELSE 'Workflows webhook' END),
                   CASE f.transport
                    WHEN 'graph' THEN 'An activity feed notification needs topic {source: entityUrl|text, value, webUrl when source is text}, activityType and previewText {content}.'
                    WHEN 'bot' THEN 'A bot message is an activity {"type": "message"} with text or a non-empty attachments array.'
                    ELSE 'A Workflows webhook payload is {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", …}}]}.' END, '22023'
             WHERE NOT coalesce(CASE f.transport
                WHEN 'graph' THEN jsonb_typeof(f.payload->'topic') = 'object'
                              AND f.payload->'topic'->>'source' IN ('entityUrl', 'text')
                              AND jsonb_typeof(f.payload->'topic'->'value') = 'string'
                              AND (f.payload->'topic'->>'source' = 'entityUrl'
                                   OR jsonb_typeof(f.payload->'topic'->'webUrl') = 'string')
                              AND jsonb_typeof(f.payload->'activityType') = 'string'
                              AND jsonb_typeof(f.payload->'previewText'->'content') = 'string'
                WHEN 'bot' THEN f.payload->>'type' = 'message'
                            AND (jsonb_typeof(f.payload->'text') = 'string'
                                 OR (jsonb_typeof(f.payload->'attachments') = 'array'
                                     AND jsonb_array_length(f.payload->'attachments') > 0))
                ELSE f.payload->>'type' = 'message'
                     AND jsonb_typeof(f.payload->'attachments') = 'array'
                     AND jsonb_array_length(f.payload->'attachments') > 0
                     AND f.cards_only
                END, false)
            UNION ALL
            SELECT 16, 'payload', format('is %s bytes, over the %s-byte limit for a %s delivery',
                       octet_length(f.payload::text), msteams._payload_limit(f.transport), f.transport),
                   'Shorten the message (Teams refuses larger ones with 413): link to details instead of embedding them.', '22023'
             WHERE octet_length(f.payload::text) > msteams._payload_limit(f.transport)
            UNION ALL
            SELECT 17, 'internal_notification_id', 'must not be empty',
                   'Pass the host''s own id of the notification (it links every destination and attempt).', '22004'
             WHERE f.inid IS NULL OR f.inid = ''
            UNION ALL
            SELECT 18, 'internal_notification_id', 'is longer than 255 characters',
                   'Pass an id of at most 255 characters.', '22023'
             WHERE length(f.inid) > 255
            UNION ALL
            SELECT 19, 'idempotency_key', 'must be 1 to 255 characters',
                   'Pass a short key, or none to derive it (DESIGN §10).', '22023'
             WHERE o.item ? 'idempotency_key' AND o.item->>'idempotency_key' IS NOT NULL
               AND length(o.item->>'idempotency_key') NOT BETWEEN 1 AND 255
            UNION ALL
            SELECT 20, 'correlation_id', 'is longer than 255 characters',
                   'Pass an id of at most 255 characters.', '22023'
             WHERE length(o.item->>'correlation_id') > 255
            UNION ALL
            SELECT 21, 'event_type', 'is longer than 100 characters',
                   'Pass a label of at most 100 characters.', '22023'
             WHERE length(o.item->>'event_type') > 100
            UNION ALL
            SELECT 22, 'run_at', 'is not a timestamp',
                   'Pass an ISO 8601 timestamp with a time zone, or omit it to send now.', '22023'
             WHERE o.item->>'run_at' IS NOT NULL AND msteams._to_timestamptz(o.item->>'run_at') IS NULL
            UNION ALL
            SELECT 23, 'expires_at', 'is not a timestamp',
                   'Pass an ISO 8601 timestamp with a time zone, or omit it for the category default.', '22023'
             WHERE o.item->>'expires_at' IS NOT NULL AND msteams._to_timestamptz(o.item->>'expires_at') IS NULL
            UNION ALL
            SELECT 24, 'expires_at', 'is not after run_at and now',
                   'An expiry must leave time to send: pass a later expires_at, or omit it.', '22023'
             WHERE msteams._to_timestamptz(o.item->>'expires_at') <= greatest(now(), coalesce(msteams._to_timestamptz(o.item->>'run_at'), now()))
            UNION ALL
            SELECT 25, 'run_at', 'is after the year 9999',
                   'Pass the time to send at, or omit it to send now.', '22023'
             WHERE msteams._to_timestamptz(o.item->>'run_at') >= timestamptz '10000-01-01 00:00:00+00'
          ) AS v
         ORDER BY v.n
         LIMIT 1) AS c
     ORDER BY e.ordinal;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._enqueue_problems(jsonb) FROM PUBLIC;
COMMENT ON FUNCTION msteams._enqueue_problems(jsonb) IS
'Internal: the first validation problem of each invalid delivery in a JSON array of deliveries (field, message, hint, SQLSTATE). Messages never echo a destination id, key or payload.';

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
        SELECT r.*, k.ref_id AS delivery_id, t.transport, cat.max_attempts, tp.paused_until,
               coalesce(r.expires_at, greatest(r.run_at, now()) + cat.default_ttl) AS expires_at_final,
               conv.conversation_id,
               msteams._skip_code(ig, t.transport,
                   CASE t.transport
                       WHEN 'webhook' THEN EXISTS (SELECT 1 FROM msteams.webhooks AS w
                                                    WHERE w.tenant = p_tenant AND w.webhook_name = r.destination_id)
                       WHEN 'bot' THEN conv.conversation_id IS NOT NULL
                       ELSE true END) AS skip_code
          FROM reps AS r
          JOIN keys AS k ON k.idempotency_key = r.enqueue_key
         CROSS JOIN LATERAL (SELECT msteams._transport(r.destination_type, r.payload) AS transport) AS t
          JOIN msteams.categories AS cat ON cat.category = r.category
          LEFT JOIN msteams.integrations AS ig ON ig.tenant = p_tenant
          LEFT JOIN LATERAL (
                SELECT cr.conversation_id FROM msteams.conversation_references AS cr
                 WHERE t.transport = 'bot' AND cr.tenant = p_tenant AND cr.status = 'active'
                   AND (cr.conversation_id = r.destination_id
                        OR (r.destination_type = 'chat' AND cr.conversation_type = 'personal'
                            AND cr.microsoft_user_id = r.destination_id))
                 ORDER BY (cr.conversation_id = r.destination_id) DESC, cr.last_activity_at DESC
                 LIMIT 1) AS conv ON true
          LEFT JOIN msteams.throttle_pauses AS tp          -- a scope Microsoft paused: queue behind the pause
                 ON tp.tenant = p_tenant AND tp.paused_until > now()
                AND tp.scope = msteams._throttle_scope(t.transport, conv.conversation_id, r.destination_id)
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
    ), skipped AS (
        INSERT INTO msteams.notification_deliveries AS d
               (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category,
                priority, destination_type, destination_id, idempotency_key, event_type, correlation_id,
                error_code, retryable, enqueued_at)
        SELECT p_tenant, n.delivery_id, 1, 'skipped', true, n.inid, n.category,
               n.priority, n.destination_type, n.destination_id,
               msteams._ledger_key(n.inid, p_tenant, n.destination_type, n.destination_id, 1),
               n.event_type, n.correlation_id, n.skip_code, false, now()
          FROM new AS n WHERE n.skip_code IS NOT NULL
        RETURNING d.delivery_id
    ), parked AS (          -- a skipped delivery keeps its payload for retry_failed / a retry response
        INSERT INTO msteams.dead_letter_payloads AS p
               (tenant, delivery_id, final_status, error_code, attempt_count, priority, category,
                destination_type, destination_id, internal_notification_id, enqueue_key, event_type,
                correlation_id, payload, enqueued_at)
        SELECT p_tenant, n.delivery_id, 'skipped', n.skip_code, 0, n.priority, n.category,
               n.destination_type, n.destination_id, n.inid, n.enqueue_key, n.event_type,
               n.correlation_id, n.payload, now()
          FROM new AS n WHERE n.skip_code IS NOT NULL
        RETURNING p.delivery_id
    )
    SELECT array_agg(n.ordinal), array_agg(n.delivery_id), array_agg(n.skip_code),
           coalesce(bool_or(n.skip_code IS NULL AND n.run_at <= now()), false)
      INTO v_ordinals, v_ids, v_codes, v_notify
      FROM new AS n;

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
