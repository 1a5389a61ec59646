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
