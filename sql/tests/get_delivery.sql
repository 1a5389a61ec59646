-- get_delivery: did this notification go out? Every attempt, newest last, plus what is still queued.
BEGIN;
SELECT plan(19);

SELECT has_function('msteams', 'get_delivery', ARRAY['uuid', 'bigint', 'text']);
SELECT isnt_definer('msteams', 'get_delivery', ARRAY['uuid', 'bigint', 'text'],
                    'get_delivery is SECURITY INVOKER: row-level security applies');
SELECT function_privs_are('msteams', 'get_delivery', ARRAY['uuid', 'bigint', 'text'],
                          'msteams_reader', ARRAY['EXECUTE'], 'readers may look a delivery up');

-- Notification n-1 went to two destinations: delivery 990001 failed twice and waits for its third
-- attempt; delivery 990002 was sent. Notification n-2 (990003) is leased to a runner right now.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at, status_code, error_code, error_message,
     retryable, retry_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', now() - interval '10 minutes', 990001, 1, 'failed', false, 'n-1', 'assignment',
        'high', 'user_activity', 'u-1', 'k1', now() - interval '11 minutes', NULL, 503, 'graph_server_error', 'Service Unavailable',
        true, now() - interval '9 minutes'),
       ('00000000-0000-0000-0000-0000000000a1', now() - interval '8 minutes', 990002, 1, 'sent', true, 'n-1', 'assignment',
        'high', 'webhook', 'ops-hook', 'k2', now() - interval '11 minutes', now() - interval '8 minutes', 202, NULL, NULL,
        NULL, NULL),
       ('00000000-0000-0000-0000-0000000000a1', now() - interval '5 minutes', 990001, 2, 'failed', false, 'n-1', 'assignment',
        'high', 'user_activity', 'u-1', 'k3', now() - interval '11 minutes', NULL, 429, 'graph_throttled', 'Too Many Requests',
        true, now() + interval '1 minute'),
       ('00000000-0000-0000-0000-0000000000b2', now() - interval '5 minutes', 990009, 1, 'sent', true, 'n-1', 'assignment',
        'high', 'user_activity', 'u-9', 'k9', now() - interval '6 minutes', now() - interval '5 minutes', 201, NULL, NULL,
        NULL, NULL);
INSERT INTO msteams.outbox (tenant, delivery_id, available_at, attempt_count, max_attempts, locked_by, lease_id, priority,
                            category, destination_type, destination_id, transport, internal_notification_id, enqueue_key,
                            last_error_code, payload, created_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', 990001, now() + interval '1 minute', 2, 6, NULL, NULL, 'high', 'assignment',
        'user_activity', 'u-1', 'graph', 'n-1', 'e1', 'graph_throttled', '{"secret":"payload"}', now() - interval '11 minutes'),
       ('00000000-0000-0000-0000-0000000000a1', 990003, now() + interval '5 minutes', 1, 6, 'runner-1', gen_random_uuid(), 'low',
        'assignment', 'chat', '19:chat@thread.v2', 'graph', 'n-2', 'e3', NULL, '{"secret":"payload"}', now() - interval '1 minute');

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

SELECT results_eq(
    $$ SELECT g.delivery_id, g.attempt_number, g.status, g.final, g.status_code, g.error_code, g.ledger_id IS NULL
         FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_delivery_id => 990001) AS g $$,
    $$ VALUES (990001::bigint, 1::smallint, 'failed', false, 503::smallint, 'graph_server_error', false),
              (990001, 2::smallint, 'failed', false, 429::smallint, 'graph_throttled', false),
              (990001, 3::smallint, 'pending', false, NULL::smallint, 'graph_throttled', true) $$,
    'one delivery: its attempts oldest first, then a pending row for the next attempt');
SELECT results_eq(
    $$ SELECT g.retry_at, g.enqueued_at, g.created_at, g.category, g.priority, g.destination_id
         FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_delivery_id => 990001) AS g WHERE g.status = 'pending' $$,
    $$ VALUES (now() + interval '1 minute', now() - interval '11 minutes', now(), 'assignment', 'high', 'u-1') $$,
    'the pending row: retry_at = when it is due, enqueued_at = when it was queued, created_at = now()');
SELECT results_eq(
    $$ SELECT g.delivery_id, g.status FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1',
                                                                 p_internal_notification_id => 'n-1') AS g $$,
    $$ VALUES (990001::bigint, 'failed'), (990002, 'sent'), (990001, 'failed'), (990001, 'pending') $$,
    'one notification: every delivery''s attempts interleaved by time, pending rows last');
SELECT results_eq(
    $$ SELECT g.attempt_number, g.status, g.retry_at, g.destination_type
         FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_internal_notification_id => 'n-2') AS g $$,
    $$ VALUES (1::smallint, 'pending', now() + interval '5 minutes', 'chat') $$,
    'a delivery leased to a runner shows the attempt in flight (attempt_count), due again when the lease ends');
SELECT is((SELECT g.sent_at FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', 990002) AS g),
          now() - interval '8 minutes', 'a sent delivery: one row with its sent_at');
SELECT is_empty($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_delivery_id => 424242) $$,
                'an unknown delivery gives no rows');
SELECT is_empty($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_delivery_id => 990009) $$,
                'another tenant''s delivery id gives no rows');
SELECT throws_ok($$ SELECT * FROM msteams.outbox $$, '42501', NULL,
                 'readers cannot select outbox payloads, so get_delivery above never read one');

SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1') $$,
                 '22023', 'get_delivery: pass exactly one of delivery_id and internal_notification_id (got neither)',
                 'neither id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', 990001, 'n-1') $$,
                 '22023', 'get_delivery: pass exactly one of delivery_id and internal_notification_id (got both)',
                 'both ids are refused');
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', p_internal_notification_id => ' ') $$,
                 '22023', NULL, 'a blank notification id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery(NULL, 990001) $$, '22004', NULL, 'a null tenant is refused');
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000b2', 990009) $$,
                 '42501', 'get_delivery: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'a reader asking for another tenant is refused');
SET LOCAL msteams.tenant = '';
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', 990001) $$,
                 '42501', NULL, 'a reader without msteams.tenant is refused');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT results_eq($$ SELECT g.delivery_id, g.status FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000b2', 990009) AS g $$,
                  $$ VALUES (990009::bigint, 'sent') $$, 'an admin looks up any tenant''s delivery');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.get_delivery('00000000-0000-0000-0000-0000000000a1', 990001) $$,
                 '42501', NULL, 'the runner role cannot look deliveries up');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
