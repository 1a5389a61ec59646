-- record_audit_event: append-only audit rows, input hashed never stored, idempotent on a key.
BEGIN;
SELECT plan(45);

-- SQLSTATE, COLUMN and HINT of an error, for the checks throws_ok cannot make.
CREATE FUNCTION pg_temp.diag(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_state text; v_column text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_column = COLUMN_NAME, v_hint = PG_EXCEPTION_HINT;
    RETURN v_state || ' ' || v_column || ' | ' || v_hint;
END $$;

SELECT has_function('msteams', 'record_audit_event',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text']);
SELECT is_definer('msteams', 'record_audit_event',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text']);
SELECT function_privs_are('msteams', 'record_audit_event',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text'],
    'msteams_app', ARRAY['EXECUTE'], 'the app role records audit events');
SELECT hasnt_column('msteams', 'audit_events', 'input', 'audit_events has no input column');
SELECT hasnt_column('msteams', 'audit_events', 'payload', 'audit_events has no payload column');

-- A delivery a card action can refer to.
INSERT INTO msteams.outbox (tenant, delivery_id, max_attempts, priority, category, destination_type, destination_id,
                            transport, internal_notification_id, enqueue_key, payload)
VALUES ('00000000-0000-0000-0000-0000000000a1', 990001, 6, 'high', 'assignment', 'user_activity', 'u-1',
        'graph', 'n-1', 'k-990001', '{"title":"secret payload"}');

SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

SELECT msteams.record_audit_event(
    p_tenant => '00000000-0000-0000-0000-0000000000a1', p_surface => 'bot', p_action_id => 'assign_ticket',
    p_actor_user_id => 'aad-user-1', p_result_status => 'success',
    p_input => '{"ticket": 42, "assignee": "someone@example.com"}',
    p_target_type => 'ticket', p_target_id => '42', p_correlation_id => 'req-1') AS first_id \gset
SELECT ok(:first_id > 0, 'record_audit_event returns the new audit_id');
SELECT results_eq(
    $$ SELECT e.surface, e.action_id, e.actor_user_id, e.target_type, e.target_id, e.result_status, e.payload_hash, e.correlation_id
         FROM msteams.audit_events AS e WHERE e.audit_id = $$ || :first_id,
    $$ VALUES ('bot', 'assign_ticket', 'aad-user-1', 'ticket', '42', 'success',
               msteams.payload_hash('{"assignee": "someone@example.com", "ticket": 42}'), 'req-1') $$,
    'the event is stored with the hash of the canonical input');
SELECT is((SELECT count(*)::int FROM msteams.audit_events AS e
            WHERE e.audit_id = :first_id AND e::text LIKE '%someone@example.com%'), 0,
          'no column of the stored row holds the input');

SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'tab', 'add_note', 'aad-user-1', 'success', NULL)
    AS null_input_id \gset
SELECT is((SELECT e.payload_hash FROM msteams.audit_events AS e WHERE e.audit_id = :null_input_id),
          '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
          'a NULL input is hashed as the JSON null');

-- A failure, a card action on a delivery.
SELECT lives_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'quick_action', 'log_time',
                   'aad-user-2', 'failure', '{}', p_error_code => 'ticket_locked', p_error_message => repeat('x', 1024)) $$,
                'a failure with an error code and a 1024-character message is recorded');
SELECT lives_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'acknowledge',
                   'aad-user-2', 'success', '{"action":"acknowledge"}', p_delivery_id => 990001,
                   p_conversation_id => 'a:conv', p_activity_id => 'act-1', p_correlation_id => repeat('c', 255)) $$,
                'a card action on an existing delivery is recorded');

-- Idempotency.
SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'aad-user-1', 'success',
                                  '{"note":"hi"}', p_idempotency_key => 'activity-77') AS keyed_id \gset
SELECT is(msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'aad-user-1', 'success',
                                     '{"note":"hi"}', p_idempotency_key => 'activity-77'),
          :keyed_id::bigint, 'a repeat call with the same idempotency key returns the first audit_id');
SELECT is((SELECT count(*)::int FROM msteams.audit_events AS e WHERE e.action_id = 'add_note' AND e.actor_user_id = 'aad-user-1'
             AND e.payload_hash = msteams.payload_hash('{"note":"hi"}')), 1, 'and records nothing the second time');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT isnt(msteams.record_audit_event('00000000-0000-0000-0000-0000000000b2', 'bot', 'add_note', 'aad-user-1', 'success',
                                       '{"note":"hi"}', p_idempotency_key => 'activity-77'),
            :keyed_id::bigint, 'the same key under another tenant is another event');
SET LOCAL msteams.tenant = '';
SELECT lives_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000b2', 'bot', 'add_note',
                   'u', 'success', '{}') $$, 'without msteams.tenant set the app role may write any tenant');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

-- Validation, every documented error.
SELECT throws_ok($$ SELECT msteams.record_audit_event(NULL, 'bot', 'add_note', 'u', 'success', '{}') $$,
                 '22004', 'record_audit_event: tenant must not be null', 'a null tenant is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000b2', 'bot', 'add_note', 'u', 'success', '{}') $$,
                 '42501', 'record_audit_event: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'a tenant other than msteams.tenant is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', NULL, 'add_note', 'u', 'success', '{}') $$,
                 '22004', 'record_audit_event: surface must not be null', 'a null surface is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'email', 'add_note', 'u', 'success', '{}') $$,
                 '22023', 'record_audit_event: surface ''email'' is not known', 'an unknown surface is refused');
SELECT is(pg_temp.diag($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'email', 'add_note', 'u', 'success', '{}') $$),
          '22023 surface | Use one of: bot, message_extension, quick_action, tab.', 'the hint lists the surfaces');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', NULL, 'u', 'success', '{}') $$,
                 '22004', NULL, 'a null action_id is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'merge_tickets', 'u', 'success', '{}') $$,
                 '22023', 'record_audit_event: action_id ''merge_tickets'' is not registered', 'an unregistered action_id is refused');
SELECT matches(pg_temp.diag($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'merge_tickets', 'u', 'success', '{}') $$),
               '^22023 action_id \| .*register_audit_action', 'the hint says to register it with register_audit_action');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', NULL, 'success', '{}') $$,
                 '22004', 'record_audit_event: actor_user_id must not be null', 'a null actor is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', '  ', 'success', '{}') $$,
                 '22023', NULL, 'a blank actor is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', NULL, '{}') $$,
                 '22004', NULL, 'a null result_status is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'ok', '{}') $$,
                 '22023', NULL, 'an unknown result_status is refused');
SELECT is(pg_temp.diag($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'ok', '{}') $$),
          '22023 result_status | Use one of: success, failure.', 'the hint lists the result statuses');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'failure', '{}') $$,
                 '22004', 'record_audit_event: error_code must not be null when result_status is failure',
                 'a failure without an error code is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}',
                                                      p_error_code => 'oops') $$,
                 '22023', NULL, 'a success with an error code is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'failure', '{}',
                                                      p_error_code => 'x', p_error_message => repeat('m', 1025)) $$,
                 '22023', 'record_audit_event: error_message is 1025 characters, over the limit of 1024',
                 'an error message over 1024 characters is refused, not truncated');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}',
                                                      p_correlation_id => repeat('c', 256)) $$,
                 '22023', NULL, 'a correlation id over 255 characters is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}',
                                                      p_target_type => 'ticket', p_target_id => repeat('t', 1025)) $$,
                 '22023', 'record_audit_event: target_id is 1025 characters, over the limit of 1024',
                 'a target id over 1024 characters is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}',
                                                      p_target_id => '42') $$,
                 '22004', NULL, 'a target id without a target type is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}',
                                                      p_idempotency_key => repeat('k', 256)) $$,
                 '22023', NULL, 'an idempotency key over 255 characters is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'acknowledge', 'u', 'success', '{}',
                                                      p_delivery_id => 424242) $$,
                 'P0002', NULL, 'a card action on a delivery that does not exist is refused');
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'update_from_message', 'u', 'failure',
                                                      '{"password":"hunter2"}', p_error_code => 'x', p_error_message => repeat('m', 2000)) $$,
                 '22023', 'record_audit_event: error_message is 2000 characters, over the limit of 1024',
                 'errors name the field, never the input');

-- Other roles are denied.
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}') $$,
                 '42501', NULL, 'the reader role cannot record audit events');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.record_audit_event('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', '{}') $$,
                 '42501', NULL, 'the runner role cannot record audit events');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ INSERT INTO msteams.audit_events (tenant, surface, action_id, actor_user_id, result_status, payload_hash)
                   VALUES ('00000000-0000-0000-0000-0000000000a1', 'bot', 'add_note', 'u', 'success', repeat('0', 64)) $$,
                 '42501', NULL, 'the app role cannot insert audit rows directly');
SELECT is((SELECT count(*)::int FROM msteams.audit_events), 5,
          'the app role reads back its own tenant''s events only');
RESET ROLE;

-- Append-only, even for the owner and a superuser.
SET LOCAL ROLE msteams_owner;
SELECT throws_ok($$ UPDATE msteams.audit_events SET actor_user_id = 'someone else' $$,
                 '55000', 'audit_events is append-only: UPDATE is not allowed', 'the owner cannot UPDATE audit events');
SELECT throws_ok($$ DELETE FROM msteams.audit_events $$,
                 '55000', 'audit_events is append-only: DELETE is not allowed', 'the owner cannot DELETE audit events');
SELECT throws_ok($$ TRUNCATE msteams.audit_events $$, '55000', NULL, 'the owner cannot TRUNCATE audit events');
RESET ROLE;
SELECT throws_ok($$ DELETE FROM msteams.audit_events WHERE audit_id = $$ || :first_id,
                 '55000', NULL, 'a superuser cannot DELETE audit events either');

SELECT * FROM finish();
ROLLBACK;
