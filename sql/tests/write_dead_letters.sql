-- write_dead_letters: the one writer of dead_letter_payloads (msteams._write_dead_letters), called as
-- its callers call it: as msteams_owner, inside their definer functions, once per batch.
BEGIN;
SELECT plan(11);

SELECT has_function('msteams', '_write_dead_letters',
    ARRAY['uuid[]', 'bigint[]', 'text[]', 'text[]', 'integer[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]',
          'text[]', 'text[]', 'text[]', 'jsonb[]', 'timestamp with time zone[]', 'timestamp with time zone']);
SELECT ok(NOT has_function_privilege('msteams_app',
              'msteams._write_dead_letters(uuid[], bigint[], text[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], timestamptz[], timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('msteams_runner',
              'msteams._write_dead_letters(uuid[], bigint[], text[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], timestamptz[], timestamptz)', 'EXECUTE'),
          'private: only the definer functions (msteams_owner) call it');

SET LOCAL ROLE msteams_owner;
SELECT is(msteams._write_dead_letters(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, now()),
          0, 'nothing to write: nothing written');
-- A skip at enqueue and a final failure reported by a runner, of two tenants, in one call.
SELECT is(msteams._write_dead_letters(
    p_tenant => ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b2']::uuid[],
    p_delivery_id => ARRAY[801, 802]::bigint[],
    p_final_status => ARRAY['skipped', 'failed'], p_error_code => ARRAY['user_not_mapped', 'graph_not_found'],
    p_attempt_count => ARRAY[0, 3], p_internal_notification_id => ARRAY['n-1', 'n-2'],
    p_category => ARRAY['assignment', 'escalation'], p_priority => ARRAY['high', 'critical'],
    p_destination_type => ARRAY['chat', 'user_activity'], p_destination_id => ARRAY['a:nobody', 'u@b2.example'],
    p_event_type => ARRAY['ticket.assigned', NULL], p_correlation_id => ARRAY[NULL, 'c-2'],
    p_enqueue_key => ARRAY['key-1', 'key-2'], p_payload => ARRAY['{"type": "message", "text": "one"}', '{"n": 2}']::jsonb[],
    p_enqueued_at => ARRAY['2026-01-01 10:00+00', '2026-01-01 11:00+00']::timestamptz[],
    p_closed_at => '2026-01-01 12:00+00'), 2, 'one call writes every dead letter of the batch');
RESET ROLE;
SELECT is((SELECT string_agg(format('%s:%s:%s:%s:%s:%s', p.delivery_id, p.tenant = '00000000-0000-0000-0000-0000000000b2',
                                    p.final_status, p.error_code, p.attempt_count, p.payload), ' ' ORDER BY p.delivery_id)
             FROM msteams.dead_letter_payloads AS p),
          '801:f:skipped:user_not_mapped:0:{"text": "one", "type": "message"} 802:t:failed:graph_not_found:3:{"n": 2}',
          'element i of every array is row i, each under its own tenant, with its payload');
SELECT is((SELECT string_agg(format('%s:%s:%s', p.delivery_id, p.enqueue_key, p.closed_at = '2026-01-01 12:00+00'), ' ' ORDER BY p.delivery_id)
             FROM msteams.dead_letter_payloads AS p),
          '801:key-1:t 802:key-2:t', 'closed at the time the caller passes');

-- A dead letter that is recorded again (requeue: still skipped; a retried delivery failing again).
SET LOCAL ROLE msteams_owner;
SELECT is(msteams._write_dead_letters(
    ARRAY['00000000-0000-0000-0000-0000000000a1']::uuid[], ARRAY[801]::bigint[], ARRAY['failed'], ARRAY['conversation_not_found'],
    ARRAY[2], ARRAY['n-1'], ARRAY['assignment'], ARRAY['high'], ARRAY['chat'], ARRAY['a:nobody'], ARRAY['ticket.assigned'],
    ARRAY[NULL::text], ARRAY['key-other'], ARRAY['{"type": "message", "text": "again"}']::jsonb[],
    ARRAY['2030-01-01 00:00+00']::timestamptz[], '2026-01-03 08:00+00'), 1, 'an existing dead letter is written again');
RESET ROLE;
SELECT is((SELECT row(p.final_status, p.error_code, p.attempt_count, p.payload->>'text', p.closed_at = '2026-01-03 08:00+00',
                      p.enqueue_key, p.enqueued_at = '2026-01-01 10:00+00')::text
             FROM msteams.dead_letter_payloads AS p WHERE p.delivery_id = 801),
          '(failed,conversation_not_found,2,again,t,key-1,t)',
          'its status, code, attempt count, payload and closing time are replaced; its key and enqueue time are the first ones');
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads), 2, 'still one dead letter per delivery');

-- All or nothing.
SET LOCAL ROLE msteams_owner;
SELECT throws_ok($$ SELECT msteams._write_dead_letters(
    ARRAY['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a1']::uuid[], ARRAY[803, 804]::bigint[],
    ARRAY['skipped', 'sent'], ARRAY['user_not_mapped', 'user_not_mapped'], ARRAY[0, 0], ARRAY['n-3', 'n-4'],
    ARRAY['assignment', 'assignment'], ARRAY['high', 'high'], ARRAY['chat', 'chat'], ARRAY['a:x', 'a:y'],
    ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[], ARRAY['k-3', 'k-4'], ARRAY['{}', '{}']::jsonb[],
    ARRAY[now(), now()], now()) $$,
    '23514', NULL, 'only a failed or skipped delivery has a dead letter: the whole call is refused');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads WHERE delivery_id IN (803, 804)), 0,
          'nothing of a refused call is written');

SELECT * FROM finish();
ROLLBACK;
