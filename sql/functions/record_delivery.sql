-- record_delivery: a host that sends a notification itself records the terminal outcome in the ledger.
CREATE OR REPLACE FUNCTION msteams.record_delivery(
    p_tenant                   uuid,
    p_internal_notification_id text,
    p_category                 text,
    p_priority                 text,
    p_destination_type         text,
    p_destination_id           text,
    p_status                   text,
    p_attempt_number           integer     DEFAULT 1,
    p_status_code              integer     DEFAULT NULL,
    p_error_code               text        DEFAULT NULL,
    p_error_message            text        DEFAULT NULL,
    p_provider_message_id      text        DEFAULT NULL,
    p_provider_request_id      text        DEFAULT NULL,
    p_correlation_id           text        DEFAULT NULL,
    p_event_type               text        DEFAULT NULL,
    p_sent_at                  timestamptz DEFAULT now(),
    OUT delivery_id            bigint,
    OUT recorded               boolean)
    RETURNS record
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_problem record;
    v_key     text;
BEGIN
    PERFORM msteams._assert_tenant('record_delivery', p_tenant);
    -- The destination and labels are checked like an enqueue's (a placeholder payload stands in).
    SELECT * INTO v_problem FROM msteams._enqueue_problems(jsonb_build_array(jsonb_build_object(
        'category', p_category, 'priority', p_priority, 'destination_type', p_destination_type,
        'destination_id', p_destination_id, 'internal_notification_id', p_internal_notification_id,
        'correlation_id', p_correlation_id, 'event_type', p_event_type,
        'payload', CASE msteams._transport(p_destination_type, '{}')
                       WHEN 'webhook' THEN '{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard"}}]}'::jsonb
                       WHEN 'graph' THEN '{"topic": {"source": "entityUrl", "value": "x"}, "activityType": "x", "previewText": {"content": "x"}}'::jsonb
                       ELSE '{"type": "message", "text": "x"}'::jsonb END))) LIMIT 1;
    IF FOUND AND v_problem.field = 'destination_id' AND p_destination_type IN ('chat', 'channel') THEN
        -- The host may have sent it as a Graph activity feed notification, whose chat and team ids
        -- have other shapes than a bot conversation's: check the destination as that instead.
        SELECT * INTO v_problem FROM msteams._enqueue_problems(jsonb_build_array(jsonb_build_object(
            'category', p_category, 'priority', p_priority, 'destination_type', p_destination_type,
            'destination_id', p_destination_id, 'internal_notification_id', p_internal_notification_id,
            'correlation_id', p_correlation_id, 'event_type', p_event_type,
            'payload', '{"topic": {"source": "entityUrl", "value": "x"}, "activityType": "x", "previewText": {"content": "x"}}'::jsonb)))
         LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = v_problem.sqlstate,
            MESSAGE = format('record_delivery: %s %s', v_problem.field, v_problem.problem),
            COLUMN = v_problem.field, HINT = v_problem.hint;
    END IF;
    IF p_status IS NULL OR p_status NOT IN ('sent', 'delivered', 'failed', 'skipped') THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_status IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = format('record_delivery: status %L is not known', left(p_status, 64)), COLUMN = 'status',
            HINT = 'Use one of: sent, delivered, failed, skipped.';
    END IF;
    IF (p_status IN ('failed', 'skipped')) <> (p_error_code IS NOT NULL)
       OR (p_error_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM msteams.error_codes AS ec WHERE ec.error_code = p_error_code)) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_delivery: error_code must be a code of msteams.error_codes for failed or skipped, and null otherwise',
            COLUMN = 'error_code', HINT = 'See msteams.error_codes for the taxonomy.';
    END IF;
    IF p_attempt_number IS NULL OR p_attempt_number NOT BETWEEN 1 AND 32767 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'record_delivery: attempt_number must be at least 1',
            COLUMN = 'attempt_number', HINT = 'Number attempts from 1.';
    END IF;
    IF p_status_code IS NOT NULL AND p_status_code NOT BETWEEN 100 AND 599 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'record_delivery: status_code is not an HTTP status',
            COLUMN = 'status_code', HINT = 'Pass the provider''s HTTP status (100-599) or null.';
    END IF;
    IF length(p_error_message) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'record_delivery: error_message is longer than 1024 characters',
            COLUMN = 'error_message', HINT = 'Shorten the message; never include a payload or a secret.';
    END IF;

    v_key := msteams._ledger_key(p_internal_notification_id, p_tenant, p_destination_type, p_destination_id, p_attempt_number);
    -- One delivery per destination of a notification, across its attempts and whether it was
    -- enqueued or sent by the host: the destination's enqueue key names it.
    INSERT INTO msteams.idempotency_keys AS k (tenant, scope, idempotency_key, ref_id)
    VALUES (p_tenant, 'enqueue',
            msteams._enqueue_key(p_internal_notification_id, p_tenant, p_destination_type, p_destination_id),
            nextval('msteams.delivery_id_seq'))
    ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
    SELECT k.ref_id INTO delivery_id FROM msteams.idempotency_keys AS k
     WHERE k.tenant = p_tenant AND k.scope = 'enqueue'
       AND k.idempotency_key = msteams._enqueue_key(p_internal_notification_id, p_tenant, p_destination_type, p_destination_id);
    INSERT INTO msteams.idempotency_keys AS k (tenant, scope, idempotency_key, ref_id)
    VALUES (p_tenant, 'delivery', v_key, delivery_id)
    ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING
    RETURNING k.ref_id INTO delivery_id;
    recorded := FOUND;
    IF NOT recorded THEN                               -- the same attempt recorded before: a no-op
        SELECT k.ref_id INTO delivery_id FROM msteams.idempotency_keys AS k
         WHERE k.tenant = p_tenant AND k.scope = 'delivery' AND k.idempotency_key = v_key;
        RETURN;
    END IF;
    PERFORM msteams._write_ledger(
        p_tenant => ARRAY[p_tenant], p_delivery_id => ARRAY[delivery_id], p_attempt_number => ARRAY[p_attempt_number],
        p_status => ARRAY[p_status], p_error_code => ARRAY[p_error_code],
        p_internal_notification_id => ARRAY[p_internal_notification_id], p_category => ARRAY[p_category],
        p_priority => ARRAY[p_priority], p_destination_type => ARRAY[p_destination_type],
        p_destination_id => ARRAY[p_destination_id], p_event_type => ARRAY[p_event_type],
        p_correlation_id => ARRAY[p_correlation_id], p_enqueued_at => ARRAY[coalesce(p_sent_at, now())],
        p_status_code => ARRAY[p_status_code], p_error_message => ARRAY[p_error_message],
        p_provider_message_id => ARRAY[p_provider_message_id], p_provider_request_id => ARRAY[p_provider_request_id],
        p_sent_at => coalesce(p_sent_at, now()));
END
$fn$;
ALTER FUNCTION msteams.record_delivery(uuid, text, text, text, text, text, text, integer, integer, text, text, text, text, text, text, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.record_delivery(uuid, text, text, text, text, text, text, integer, integer, text, text, text, text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.record_delivery(uuid, text, text, text, text, text, text, integer, integer, text, text, text, text, text, text, timestamptz) TO msteams_app;
COMMENT ON FUNCTION msteams.record_delivery(uuid, text, text, text, text, text, text, integer, integer, text, text, text, text, text, text, timestamptz) IS
'For a host that sends itself: record the terminal outcome of one attempt in the ledger. Keyed by the ledger key (SHA-256 of internal_notification_id|tenant|destination_type|destination_id|attempt_number): recording the same attempt again is a no-op (recorded = false). Every attempt to one destination of a notification shares one delivery_id, also with a delivery enqueued to it.';
