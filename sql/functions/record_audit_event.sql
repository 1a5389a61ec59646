-- record_audit_event: one append-only row per Teams-originated mutation (DESIGN §2, §4).
-- The input is hashed (payload_hash, DESIGN §10), never stored. With an idempotency key a
-- repeat call returns the first audit_id, also when two calls race: the key row is inserted
-- first, so the second caller waits on it and then finds the winner's id.
CREATE OR REPLACE FUNCTION msteams.record_audit_event(
    p_tenant          uuid,
    p_surface         text,
    p_action_id       text,
    p_actor_user_id   text,
    p_result_status   text,
    p_input           jsonb,
    p_target_type     text   DEFAULT NULL,
    p_target_id       text   DEFAULT NULL,
    p_error_code      text   DEFAULT NULL,
    p_error_message   text   DEFAULT NULL,
    p_delivery_id     bigint DEFAULT NULL,
    p_conversation_id text   DEFAULT NULL,
    p_activity_id     text   DEFAULT NULL,
    p_correlation_id  text   DEFAULT NULL,
    p_idempotency_key text   DEFAULT NULL
)
    RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_audit_id bigint;
    v_field    record;
BEGIN
    PERFORM msteams._assert_tenant('record_audit_event', p_tenant);

    IF p_surface IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: surface must not be null', COLUMN = 'surface',
            HINT = 'Use one of: bot, message_extension, quick_action, tab.';
    END IF;
    IF p_surface NOT IN ('bot', 'message_extension', 'quick_action', 'tab') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: surface %L is not known', left(p_surface, 100)),
            COLUMN = 'surface', HINT = 'Use one of: bot, message_extension, quick_action, tab.';
    END IF;
    IF p_action_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: action_id must not be null', COLUMN = 'action_id',
            HINT = 'Pass an action id registered in msteams.audit_actions, e.g. assign_ticket.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM msteams.audit_actions AS a WHERE a.action_id = p_action_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: action_id %L is not registered', left(p_action_id, 100)),
            COLUMN = 'action_id',
            HINT = 'Use an action id from msteams.audit_actions, or register it first with msteams.register_audit_action().';
    END IF;
    IF p_actor_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: actor_user_id must not be null', COLUMN = 'actor_user_id',
            HINT = 'Pass the acting Teams user''s Entra object id (activity.from.aadObjectId).';
    END IF;
    IF btrim(p_actor_user_id) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_audit_event: actor_user_id must not be blank', COLUMN = 'actor_user_id',
            HINT = 'Pass the acting Teams user''s Entra object id (activity.from.aadObjectId).';
    END IF;
    IF p_result_status IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: result_status must not be null', COLUMN = 'result_status',
            HINT = 'Use one of: success, failure.';
    END IF;
    IF p_result_status NOT IN ('success', 'failure') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: result_status %L is not known', left(p_result_status, 100)),
            COLUMN = 'result_status', HINT = 'Use one of: success, failure.';
    END IF;
    IF p_result_status = 'failure' AND p_error_code IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: error_code must not be null when result_status is failure',
            COLUMN = 'error_code', HINT = 'Pass the host''s error code for the failed mutation, e.g. ticket_locked.';
    END IF;
    IF p_result_status = 'success' AND (p_error_code IS NOT NULL OR p_error_message IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: %s must be null when result_status is success',
                             CASE WHEN p_error_code IS NOT NULL THEN 'error_code' ELSE 'error_message' END),
            COLUMN = CASE WHEN p_error_code IS NOT NULL THEN 'error_code' ELSE 'error_message' END,
            HINT = 'Pass result_status failure for a failed mutation, or leave error_code and error_message out.';
    END IF;
    IF p_error_code IS NOT NULL AND btrim(p_error_code) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_audit_event: error_code must not be blank', COLUMN = 'error_code',
            HINT = 'Pass the host''s error code for the failed mutation, e.g. ticket_locked.';
    END IF;
    IF char_length(p_error_message) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: error_message is %s characters, over the limit of 1024',
                             char_length(p_error_message)),
            COLUMN = 'error_message', HINT = 'Shorten the message to at most 1024 characters (it is not truncated for you).';
    END IF;
    IF char_length(p_correlation_id) > 255 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: correlation_id is %s characters, over the limit of 255',
                             char_length(p_correlation_id)),
            COLUMN = 'correlation_id', HINT = 'Use a correlation id of at most 255 characters.';
    END IF;
    FOR v_field IN
        SELECT f.name, f.value
          FROM (VALUES ('actor_user_id', p_actor_user_id), ('target_type', p_target_type),
                       ('target_id', p_target_id), ('error_code', p_error_code),
                       ('conversation_id', p_conversation_id), ('activity_id', p_activity_id)) AS f(name, value)
         WHERE char_length(f.value) > 1024
    LOOP
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('record_audit_event: %s is %s characters, over the limit of 1024',
                             v_field.name, char_length(v_field.value)),
            COLUMN = v_field.name, HINT = format('Use a %s of at most 1024 characters.', v_field.name);
    END LOOP;
    IF p_target_id IS NOT NULL AND p_target_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'record_audit_event: target_type must not be null when target_id is given',
            COLUMN = 'target_type', HINT = 'Say what target_id identifies, e.g. ticket or time_entry.';
    END IF;
    IF p_idempotency_key IS NOT NULL AND char_length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'record_audit_event: idempotency_key must be 1 to 255 characters', COLUMN = 'idempotency_key',
            HINT = 'Use a key of 1 to 255 characters, e.g. the inbound activity id, or leave it out.';
    END IF;
    IF p_delivery_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM msteams.notification_deliveries AS d
                        WHERE d.tenant = p_tenant AND d.delivery_id = p_delivery_id)
       AND NOT EXISTS (SELECT 1 FROM msteams.outbox AS o
                        WHERE o.tenant = p_tenant AND o.delivery_id = p_delivery_id)
       AND NOT EXISTS (SELECT 1 FROM msteams.dead_letter_payloads AS x
                        WHERE x.tenant = p_tenant AND x.delivery_id = p_delivery_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('record_audit_event: delivery %s of tenant %s does not exist', p_delivery_id, p_tenant),
            COLUMN = 'delivery_id',
            HINT = 'Pass the delivery_id the card action refers to (in the ledger, the outbox or the dead letters), or leave it out.';
    END IF;

    v_audit_id := nextval('msteams.audit_events_audit_id_seq');
    IF p_idempotency_key IS NOT NULL THEN
        -- The key first: a concurrent call with the same key waits here for us, then finds our id.
        INSERT INTO msteams.idempotency_keys AS k (tenant, scope, idempotency_key, ref_id)
        VALUES (p_tenant, 'audit', p_idempotency_key, v_audit_id)
        ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
        IF NOT FOUND THEN
            SELECT k.ref_id INTO STRICT v_audit_id FROM msteams.idempotency_keys AS k
             WHERE k.tenant = p_tenant AND k.scope = 'audit' AND k.idempotency_key = p_idempotency_key;
            RETURN v_audit_id;
        END IF;
    END IF;

    INSERT INTO msteams.audit_events AS e
        (tenant, audit_id, surface, action_id, actor_user_id, target_type, target_id, result_status,
         error_code, error_message, payload_hash, delivery_id, conversation_id, activity_id, correlation_id)
    VALUES (p_tenant, v_audit_id, p_surface, p_action_id, p_actor_user_id, p_target_type, p_target_id,
            p_result_status, p_error_code, p_error_message,
            msteams.payload_hash(coalesce(p_input, 'null'::jsonb)),
            p_delivery_id, p_conversation_id, p_activity_id, p_correlation_id);
    RETURN v_audit_id;
END
$fn$;
ALTER FUNCTION msteams.record_audit_event(uuid, text, text, text, text, jsonb, text, text, text, text, bigint, text, text, text, text)
    OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.record_audit_event(uuid, text, text, text, text, jsonb, text, text, text, text, bigint, text, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.record_audit_event(uuid, text, text, text, text, jsonb, text, text, text, text, bigint, text, text, text, text)
    TO msteams_app;
COMMENT ON FUNCTION msteams.record_audit_event(uuid, text, text, text, text, jsonb, text, text, text, text, bigint, text, text, text, text) IS
'Append one audit event (a Teams-originated mutation) for p_tenant and return its audit_id. Stores payload_hash(p_input) (p_input NULL hashes the JSON null), never the input. surface: bot|message_extension|quick_action|tab; action_id: registered in audit_actions; result_status: success|failure (failure needs error_code; success takes no error_code/error_message); error_message <= 1024 and correlation_id <= 255 characters (refused, not truncated); delivery_id, when given, must exist. Idempotent on (p_tenant, p_idempotency_key): a repeat call, also a concurrent one, returns the first audit_id. Raises 22004/22023 naming the field, P0002 for an unknown delivery, 42501 when msteams.tenant is another tenant.';
