-- write_ledger: the one writer of the delivery ledger (msteams._write_ledger), called as its
-- callers call it: as msteams_owner, inside their definer functions, once per batch of outcomes.
BEGIN;
SELECT plan(18);

SELECT has_function('msteams', '_write_ledger',
    ARRAY['uuid[]', 'bigint[]', 'integer[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]',
          'text[]', 'text[]', 'timestamp with time zone[]', 'timestamp with time zone[]', 'integer[]', 'text[]',
          'text[]', 'text[]', 'integer[]', 'text', 'timestamp with time zone']);
SELECT ok(NOT has_function_privilege('msteams_app',
              'msteams._write_ledger(uuid[], bigint[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], timestamptz[], timestamptz[], integer[], text[], text[], text[], integer[], text, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('msteams_runner',
              'msteams._write_ledger(uuid[], bigint[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], timestamptz[], timestamptz[], integer[], text[], text[], text[], integer[], text, timestamptz)', 'EXECUTE'),
          'private: only the definer functions (msteams_owner) call it');

SET LOCAL ROLE msteams_owner;
SELECT is(msteams._write_ledger(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0,
          'nothing to write: nothing written');

-- A runner's batch (complete_deliveries): several outcomes of two tenants in one call.
SELECT is(msteams._write_ledger(
    p_tenant => ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a1',
                      '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b2']::uuid[],
    p_delivery_id => ARRAY[901, 902, 903, 904]::bigint[],
    p_attempt_number => ARRAY[1, 2, 6, 1],
    p_status => ARRAY['sent', 'failed', 'failed', 'delivered'],
    p_error_code => ARRAY[NULL, 'graph_throttled', 'graph_not_found', NULL],
    p_internal_notification_id => ARRAY['n-1', 'n-2', 'n-3', 'n-4'],
    p_category => ARRAY['assignment', 'assignment', 'escalation', 'sla_risk'],
    p_priority => ARRAY['high', 'high', 'critical', 'low'],
    p_destination_type => ARRAY['user_activity', 'user_activity', 'chat', 'webhook'],
    p_destination_id => ARRAY['u1@a1.example', 'u2@a1.example', 'a:personal-1', 'sre-room'],
    p_event_type => ARRAY['ticket.assigned', NULL, NULL, NULL],
    p_correlation_id => ARRAY['c-1', NULL, NULL, NULL],
    p_enqueued_at => ARRAY['2026-01-01 10:00+00', '2026-01-01 10:00+00', '2026-01-01 10:00+00', '2026-01-01 11:00+00']::timestamptz[],
    p_retry_at => ARRAY[NULL, '2026-01-01 10:05+00', NULL, NULL]::timestamptz[],
    p_status_code => ARRAY[201, 429, 404, 202],
    p_error_message => ARRAY[NULL, 'Too many requests', repeat('x', 2000), NULL],
    p_provider_message_id => ARRAY[NULL, NULL, NULL, repeat('m', 1500)],
    p_provider_request_id => ARRAY['req-1', 'req-2', 'req-3', NULL],
    p_latency_ms => ARRAY[120, 80, 95, 300],
    p_worker => 'runner-1', p_sent_at => '2026-01-01 10:01+00'), 4, 'one call writes every outcome of the batch');
RESET ROLE;

CREATE TEMP TABLE l ON COMMIT DROP AS SELECT * FROM msteams.notification_deliveries WHERE delivery_id BETWEEN 901 AND 904;
SELECT is((SELECT string_agg(format('%s:%s:%s:%s', l.delivery_id, l.tenant = '00000000-0000-0000-0000-0000000000b2', l.attempt_number, l.status), ' ' ORDER BY l.delivery_id) FROM l),
          '901:f:1:sent 902:f:2:failed 903:f:6:failed 904:t:1:delivered',
          'element i of every array is row i, each under its own tenant');
SELECT is((SELECT string_agg(format('%s:%s', l.delivery_id, l.final), ' ' ORDER BY l.delivery_id) FROM l),
          '901:t 902:f 903:t 904:t', 'final unless a retry is scheduled');
SELECT is((SELECT string_agg(format('%s:%s', l.delivery_id, coalesce(l.retryable::text, '-')), ' ' ORDER BY l.delivery_id) FROM l),
          '901:- 902:true 903:false 904:-', 'retryable is the error code''s (msteams.error_codes), none without a code');
SELECT is((SELECT string_agg(format('%s:%s:%s', l.delivery_id, coalesce(to_char(l.sent_at AT TIME ZONE 'UTC', 'HH24:MI'), '-'),
                                    coalesce(to_char(l.delivered_at AT TIME ZONE 'UTC', 'HH24:MI'), '-')), ' ' ORDER BY l.delivery_id) FROM l),
          '901:10:01:- 902:-:- 903:-:- 904:10:01:10:01', 'sent_at for sent and delivered, delivered_at for delivered, from p_sent_at');
SELECT is((SELECT l.idempotency_key FROM l WHERE l.delivery_id = 902),
          msteams._ledger_key('n-2', '00000000-0000-0000-0000-0000000000a1', 'user_activity', 'u2@a1.example', 2),
          'the ledger key of the attempt (DESIGN §10)');
SELECT is((SELECT row(l.worker, l.latency_ms, l.status_code, l.provider_request_id, l.event_type, l.correlation_id,
                      l.enqueued_at = '2026-01-01 10:00+00', l.retry_at IS NULL)::text FROM l WHERE l.delivery_id = 901),
          '(runner-1,120,201,req-1,ticket.assigned,c-1,t,t)', 'the attempt''s details are kept as given');
SELECT is((SELECT row(char_length(l.error_message), char_length((SELECT x.provider_message_id FROM l AS x WHERE x.delivery_id = 904)))::text
             FROM l WHERE l.delivery_id = 903),
          '(1024,1024)', 'an error message and provider ids are kept to 1,024 characters');

-- A skip (enqueue, requeue, discard): no outcome details.
SET LOCAL ROLE msteams_owner;
SELECT is(msteams._write_ledger(ARRAY['00000000-0000-0000-0000-0000000000c3']::uuid[], ARRAY[905]::bigint[], ARRAY[1],
                                ARRAY['skipped'], ARRAY['integration_inactive'], ARRAY['n-5'], ARRAY['assignment'],
                                ARRAY['info'], ARRAY['user_activity'], ARRAY['u@c3.example'], ARRAY[NULL::text],
                                ARRAY[NULL::text], ARRAY['2026-01-02 09:00+00']::timestamptz[]), 1, 'a skip is one row');
RESET ROLE;
SELECT is((SELECT row(d.status, d.final, d.error_code, d.retryable, d.sent_at, d.worker, d.status_code)::text
             FROM msteams.notification_deliveries AS d WHERE d.delivery_id = 905),
          '(skipped,t,integration_inactive,f,,,)', 'a skip is final, not retryable, never sent');

-- All or nothing: a row the ledger refuses fails the whole call, and nothing of it is written.
SET LOCAL ROLE msteams_owner;
SELECT throws_ok($$ SELECT msteams._write_ledger(
    ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a1']::uuid[], ARRAY[906, 907]::bigint[],
    ARRAY[1, 1], ARRAY['sent', 'sent'], ARRAY[NULL, 'graph_throttled'], ARRAY['n-6', 'n-7'], ARRAY['assignment', 'assignment'],
    ARRAY['high', 'high'], ARRAY['user_activity', 'user_activity'], ARRAY['u6@a1.example', 'u7@a1.example'],
    ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[], ARRAY[now(), now()]) $$,
    '23514', NULL, 'a sent row with an error code is refused by the ledger''s own check');
SELECT throws_ok($$ SELECT msteams._write_ledger(
    ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a1']::uuid[], ARRAY[909, 910]::bigint[],
    ARRAY[1, 1], ARRAY['sent', 'sent'], ARRAY[NULL, NULL]::text[], ARRAY['n-9'], ARRAY['assignment', 'assignment'],
    ARRAY['high', 'high'], ARRAY['user_activity', 'user_activity'], ARRAY['u9@a1.example', 'u10@a1.example'],
    ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[], ARRAY[now(), now()]) $$,
    '23502', NULL, 'an array shorter than the others leaves a required column NULL: refused, never written half');
SELECT throws_ok($$ SELECT msteams._write_ledger(
    ARRAY['00000000-0000-0000-0000-0000000000a1']::uuid[], ARRAY[911]::bigint[], ARRAY[1], ARRAY['sent'], ARRAY[NULL::text],
    ARRAY['n-11'], ARRAY['no_such_category'], ARRAY['high'], ARRAY['user_activity'], ARRAY['u11@a1.example'],
    ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[now()]) $$,
    '23503', NULL, 'an unknown category is refused');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries WHERE delivery_id BETWEEN 906 AND 911), 0,
          'nothing of a refused call is written');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries), 5, 'and nothing else was written');

SELECT * FROM finish();
ROLLBACK;
