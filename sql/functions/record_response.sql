-- record_response: a recipient acted on a notification (card action, or the host's own UI):
-- acknowledge, escalate, retry (queue a failed delivery again) or discard (close it). Always
-- writes an audit event; idempotent under Teams' retries of the same invoke (p_activity_id).
CREATE OR REPLACE FUNCTION msteams.record_response(
    p_tenant         uuid,
    p_delivery_id    bigint,
    p_action         text,
    p_actor_user_id  text,
    p_surface        text        DEFAULT 'bot',
    p_activity_id    text        DEFAULT NULL,
    p_correlation_id text        DEFAULT NULL,
    p_input          jsonb       DEFAULT NULL,
    p_responded_at   timestamptz DEFAULT now(),
    OUT audit_id     bigint,
    OUT outcome      text)
    RETURNS record
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_key     text;
    v_pending boolean;
    v_dead    boolean;
    v_sent    record;
    v_known   boolean;
    v_gone    record;
BEGIN
    PERFORM msteams._assert_tenant('record_response', p_tenant);
    IF p_delivery_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'record_response: delivery_id must not be null',
            COLUMN = 'delivery_id', HINT = 'Pass the delivery id carried by the card action.';
    END IF;
    IF p_action IS NULL OR p_action NOT IN ('acknowledge', 'escalate', 'retry', 'discard') THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_action IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = format('record_response: action %L is not known', left(p_action, 64)), COLUMN = 'action',
            HINT = 'Use one of: acknowledge, escalate, retry, discard.';
    END IF;
    IF p_actor_user_id IS NULL OR p_actor_user_id = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'record_response: actor_user_id must not be empty',
            COLUMN = 'actor_user_id', HINT = 'Pass the acting Teams user''s Entra object id (activity.from.aadObjectId).';
    END IF;
    IF p_surface IS NULL OR p_surface NOT IN ('bot', 'message_extension', 'quick_action', 'tab') THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_surface IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = format('record_response: surface %L is not known', left(p_surface, 64)), COLUMN = 'surface',
            HINT = 'Use one of: bot, message_extension, quick_action, tab.';
    END IF;
    IF char_length(p_actor_user_id) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_response: actor_user_id is longer than 1024 characters', COLUMN = 'actor_user_id',
            HINT = 'Pass the acting Teams user''s Entra object id (activity.from.aadObjectId).';
    END IF;
    IF char_length(p_activity_id) > 200 THEN         -- it keys the invoke: response|delivery|action|activity <= 255
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_response: activity_id is longer than 200 characters', COLUMN = 'activity_id',
            HINT = 'Pass the inbound Teams activity id (activity.id) unchanged.';
    END IF;
    IF char_length(p_correlation_id) > 255 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_response: correlation_id is longer than 255 characters', COLUMN = 'correlation_id',
            HINT = 'Use a correlation id of at most 255 characters.';
    END IF;
    IF p_responded_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'record_response: responded_at must not be null',
            COLUMN = 'responded_at', HINT = 'Omit it to use the current time.';
    END IF;

    -- The same invoke delivered twice (Teams retries) is answered once: serialise on its key,
    -- then a repeat finds the audit event of the first and changes nothing.
    IF p_activity_id IS NOT NULL THEN
        v_key := format('response|%s|%s|%s', p_delivery_id, p_action, p_activity_id);
        PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text || '|' || v_key, 0));
        SELECT k.ref_id INTO audit_id FROM msteams.idempotency_keys AS k
         WHERE k.tenant = p_tenant AND k.scope = 'audit' AND k.idempotency_key = v_key;
        IF FOUND THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
    END IF;

    PERFORM 1 FROM msteams.outbox AS o WHERE o.tenant = p_tenant AND o.delivery_id = p_delivery_id FOR UPDATE;
    v_pending := FOUND;
    v_dead := EXISTS (SELECT 1 FROM msteams.dead_letter_payloads AS p
                       WHERE p.tenant = p_tenant AND p.delivery_id = p_delivery_id);
    SELECT d.created_at, d.ledger_id INTO v_sent FROM msteams.notification_deliveries AS d
     WHERE d.tenant = p_tenant AND d.delivery_id = p_delivery_id AND d.status IN ('sent', 'delivered')
     ORDER BY d.created_at DESC, d.ledger_id DESC LIMIT 1;
    v_known := v_pending OR EXISTS (SELECT 1 FROM msteams.notification_deliveries AS d
                                     WHERE d.tenant = p_tenant AND d.delivery_id = p_delivery_id);
    IF NOT v_known THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('record_response: delivery %s does not exist for this tenant', p_delivery_id),
            COLUMN = 'delivery_id', HINT = 'Pass a delivery id returned by enqueue for this tenant.';
    END IF;

    CASE p_action
    WHEN 'acknowledge', 'escalate' THEN
        IF v_sent.ledger_id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('record_response: delivery %s was not sent, so it cannot be %s', p_delivery_id,
                                 CASE p_action WHEN 'acknowledge' THEN 'acknowledged' ELSE 'escalated' END),
                COLUMN = 'action', HINT = 'Acknowledge or escalate a sent delivery; retry or discard a failed one.';
        END IF;
        outcome := CASE p_action WHEN 'acknowledge' THEN 'acknowledged' ELSE 'escalated' END;
    WHEN 'retry' THEN
        IF NOT v_dead THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('record_response: delivery %s has not failed, so there is nothing to retry', p_delivery_id),
                COLUMN = 'action', HINT = 'Only a delivery whose final outcome was failed or skipped can be retried.';
        END IF;
        SELECT r.status INTO outcome FROM msteams._requeue(p_tenant, ARRAY[p_delivery_id]) AS r;
        outcome := CASE outcome WHEN 'queued' THEN 'requeued' ELSE 'still_skipped' END;
    WHEN 'discard' THEN
        IF v_dead THEN
            DELETE FROM msteams.dead_letter_payloads AS p WHERE p.tenant = p_tenant AND p.delivery_id = p_delivery_id;
        ELSIF v_pending AND EXISTS (SELECT 1 FROM msteams.outbox AS o
                                     WHERE o.tenant = p_tenant AND o.delivery_id = p_delivery_id
                                       AND o.locked_by IS NOT NULL AND o.available_at > now()) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('record_response: delivery %s is being sent right now, so it cannot be discarded', p_delivery_id),
                COLUMN = 'action', HINT = 'Try again in a moment: once this attempt is recorded it can be discarded if it failed.';
        ELSIF v_pending THEN          -- queued or waiting for a retry: close it without sending
            DELETE FROM msteams.outbox AS o WHERE o.tenant = p_tenant AND o.delivery_id = p_delivery_id
            RETURNING o.attempt_count, o.internal_notification_id, o.category, o.priority, o.destination_type,
                      o.destination_id, o.event_type, o.correlation_id, o.created_at INTO v_gone;
            PERFORM msteams._write_ledger(
                p_tenant => ARRAY[p_tenant], p_delivery_id => ARRAY[p_delivery_id],
                p_attempt_number => ARRAY[v_gone.attempt_count + 1], p_status => ARRAY['skipped'],
                p_error_code => ARRAY['discarded'], p_internal_notification_id => ARRAY[v_gone.internal_notification_id],
                p_category => ARRAY[v_gone.category], p_priority => ARRAY[v_gone.priority],
                p_destination_type => ARRAY[v_gone.destination_type], p_destination_id => ARRAY[v_gone.destination_id],
                p_event_type => ARRAY[v_gone.event_type], p_correlation_id => ARRAY[v_gone.correlation_id],
                p_enqueued_at => ARRAY[v_gone.created_at]);
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('record_response: delivery %s %s, so there is nothing to discard', p_delivery_id,
                                 CASE WHEN v_sent.ledger_id IS NOT NULL THEN 'was sent' ELSE 'is already closed' END),
                COLUMN = 'action', HINT = 'Discard closes a failed, queued or still-retrying delivery.';
        END IF;
        outcome := 'discarded';
    END CASE;

    -- The response is recorded on the delivery's latest ledger row …
    UPDATE msteams.notification_deliveries AS d
       SET responded_at = p_responded_at, response_action = p_action, responded_by = left(p_actor_user_id, 1024)
     WHERE d.tenant = p_tenant
       AND (d.created_at, d.ledger_id) = (SELECT l.created_at, l.ledger_id FROM msteams.notification_deliveries AS l
                                           WHERE l.tenant = p_tenant AND l.delivery_id = p_delivery_id
                                           ORDER BY (l.status IN ('sent', 'delivered')) DESC, l.created_at DESC, l.ledger_id DESC
                                           LIMIT 1);
    -- … and in the audit ledger.
    audit_id := msteams.record_audit_event(
        p_tenant => p_tenant, p_surface => p_surface, p_action_id => p_action, p_actor_user_id => p_actor_user_id,
        p_result_status => 'success',
        p_input => coalesce(p_input, jsonb_build_object('delivery_id', p_delivery_id, 'action', p_action)),
        p_target_type => 'delivery', p_target_id => p_delivery_id::text, p_delivery_id => p_delivery_id,
        p_activity_id => p_activity_id, p_correlation_id => p_correlation_id, p_idempotency_key => v_key);
END
$fn$;
ALTER FUNCTION msteams.record_response(uuid, bigint, text, text, text, text, text, jsonb, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.record_response(uuid, bigint, text, text, text, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.record_response(uuid, bigint, text, text, text, text, text, jsonb, timestamptz) TO msteams_app;
COMMENT ON FUNCTION msteams.record_response(uuid, bigint, text, text, text, text, text, jsonb, timestamptz) IS
'Record a recipient''s response to a delivery and write its audit event. acknowledge/escalate: a sent delivery gets responded_at, response_action, responded_by. retry: a delivery that ended failed or skipped is queued again with its kept payload (outcome requeued, or still_skipped). discard: closes a failed delivery (its payload is dropped) or one still queued or waiting for a retry (not one being sent at this moment: 55000). With p_activity_id (the Teams invoke id) a repeat of the same invoke returns the first audit_id with outcome duplicate and changes nothing. Errors: P0002 unknown delivery, 55000 an action its state does not allow, 22004/22023 naming the field.';
