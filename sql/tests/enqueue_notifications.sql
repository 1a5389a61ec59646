-- enqueue_notifications: bulk enqueue of one tenant, one row per input in order, all or nothing.
BEGIN;
SELECT plan(37);
\ir fixtures/tenants.sql

SELECT has_function('msteams', 'enqueue_notifications', ARRAY['uuid', 'jsonb']);
SELECT is_definer('msteams', 'enqueue_notifications', ARRAY['uuid', 'jsonb']);

-- One item of each kind: the fixture tenant a1 can reach the user (Graph), the personal
-- conversation and the channel (bot) and the webhook; the last two cannot be attempted.
CREATE TEMP TABLE batch ON COMMIT DROP AS
SELECT jsonb_agg(jsonb_build_object('category', v.category, 'priority', v.priority, 'destination_type', v.dtype,
                                    'destination_id', v.did, 'internal_notification_id', 'bulk-1',
                                    'payload', CASE v.dtype WHEN 'user_activity' THEN :feed::jsonb
                                                            WHEN 'webhook' THEN :card::jsonb ELSE :botmsg::jsonb END)
                 ORDER BY v.n) AS items
  FROM (VALUES (1, 'assignment', 'high',     'user_activity', 'aaaaaaaa-0000-0000-0000-000000000001'),
               (2, 'escalation', 'critical', 'chat',          'a:personal-1'),
               (3, 'sla_risk',   'medium',   'webhook',       'sre-room'),
               (4, 'escalation', 'low',      'channel',       '19:room@thread.tacv2'),
               (5, 'assignment', 'info',     'chat',          'aaaaaaaa-0000-0000-0000-0000000000ff'),
               (6, 'assignment', 'high',     'webhook',       'no-such-hook')) AS v(n, category, priority, dtype, did);
GRANT SELECT ON batch TO PUBLIC;
CREATE TEMP TABLE counts (label text, outbox int, ledger int, keys int, dead int) ON COMMIT DROP;
GRANT ALL ON counts TO PUBLIC;

SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE first_call ON COMMIT DROP AS
SELECT row_number() OVER () AS n, e.*
  FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', (SELECT b.items FROM batch AS b)) AS e;
RESET ROLE;

SELECT is((SELECT array_agg(f.ordinal ORDER BY f.n) FROM first_call AS f), ARRAY[1, 2, 3, 4, 5, 6],
          'one row per input, in input order');
SELECT is((SELECT count(DISTINCT f.delivery_id)::int FROM first_call AS f), 6, 'six destinations, six deliveries');
SELECT results_eq($$ SELECT f.status, f.error_code, f.duplicate FROM first_call AS f ORDER BY f.n $$,
    $$ VALUES ('queued', NULL::text, false), ('queued', NULL, false), ('queued', NULL, false), ('queued', NULL, false),
              ('skipped', 'user_not_mapped', false), ('skipped', 'package_misconfigured', false) $$,
    'each delivery is queued, or skipped with its own code');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'bulk-1'), 4,
          'the four that can be attempted are in the outbox');
SELECT is((SELECT string_agg(o.transport, ',' ORDER BY f.ordinal) FROM msteams.outbox AS o JOIN first_call AS f USING (delivery_id)),
          'graph,bot,webhook,bot', 'each gets the transport of its destination');
SELECT is((SELECT string_agg(d.error_code, ',' ORDER BY f.ordinal) FROM msteams.notification_deliveries AS d
             JOIN first_call AS f USING (delivery_id) WHERE d.status = 'skipped' AND d.final),
          'user_not_mapped,package_misconfigured', 'the two skips are final ledger rows with their codes');
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads AS p WHERE p.internal_notification_id = 'bulk-1'), 2,
          'the skipped ones keep their payloads for a retry');

-- The whole batch again: the same deliveries, each marked duplicate, where each stands now.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE second_call ON COMMIT DROP AS
SELECT row_number() OVER () AS n, e.*
  FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', (SELECT b.items FROM batch AS b)) AS e;
RESET ROLE;
SELECT results_eq($$ SELECT s.ordinal, s.delivery_id, s.status, s.error_code FROM second_call AS s ORDER BY s.n $$,
                  $$ SELECT f.ordinal, f.delivery_id, f.status, f.error_code FROM first_call AS f ORDER BY f.n $$,
                  'a repeated batch returns the same deliveries, in order, with the same statuses');
SELECT ok((SELECT bool_and(s.duplicate) FROM second_call AS s), 'every row of a repeated batch is a duplicate');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'bulk-1'), 4,
          'a repeated batch writes no outbox row');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'bulk-1'), 2,
          'a repeated batch writes no ledger row');

-- A key repeated inside one batch: one delivery for both ordinals, the second a duplicate.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE repeat_call ON COMMIT DROP AS
SELECT row_number() OVER () AS n, e.*
  FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', jsonb_build_array(
         jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                            'destination_id', 'one@a1.example', 'payload', :feed::jsonb,
                            'internal_notification_id', 'rep-1', 'idempotency_key', 'same-key'),
         jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                            'destination_id', 'two@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'rep-2'),
         jsonb_build_object('category', 'assignment', 'priority', 'low', 'destination_type', 'user_activity',
                            'destination_id', 'three@a1.example', 'payload', :feed::jsonb,
                            'internal_notification_id', 'rep-3', 'idempotency_key', 'same-key'),
         -- a derived key repeated: the same notification to the same unmapped user twice
         jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'chat',
                            'destination_id', 'aaaaaaaa-0000-0000-0000-0000000000ee', 'payload', :botmsg::jsonb,
                            'internal_notification_id', 'rep-4'),
         jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'chat',
                            'destination_id', 'aaaaaaaa-0000-0000-0000-0000000000ee', 'payload', :botmsg::jsonb,
                            'internal_notification_id', 'rep-4'))) AS e;
RESET ROLE;
SELECT is((SELECT array_agg(r.ordinal ORDER BY r.n) FROM repeat_call AS r), ARRAY[1, 2, 3, 4, 5],
          'a batch with a repeated key still returns one row per input, in order');
SELECT is((SELECT r3.delivery_id FROM repeat_call AS r3 WHERE r3.ordinal = 3),
          (SELECT r1.delivery_id FROM repeat_call AS r1 WHERE r1.ordinal = 1),
          'both ordinals of a repeated key get the same delivery');
SELECT results_eq($$ SELECT r.duplicate FROM repeat_call AS r ORDER BY r.n $$,
                  $$ VALUES (false), (false), (true), (false), (true) $$,
                  'the first occurrence is new, the repeat is marked duplicate');
SELECT is((SELECT row(r.status, r.error_code)::text FROM repeat_call AS r WHERE r.ordinal = 3), '(queued,)',
          'the repeat reports the first occurrence''s status');
SELECT is((SELECT row(r.status, r.error_code)::text FROM repeat_call AS r WHERE r.ordinal = 5), '(skipped,user_not_mapped)',
          'the repeat of a skipped item reports the skip and its code');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id IN ('rep-1', 'rep-3')), 1,
          'a key repeated in a batch writes one outbox row');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'rep-4'), 1,
          'a skipped item repeated in a batch writes one ledger row');

-- All or nothing: the 3rd item is bad, and nothing of the batch is written.
INSERT INTO counts SELECT 'before', (SELECT count(*) FROM msteams.outbox), (SELECT count(*) FROM msteams.notification_deliveries),
                          (SELECT count(*) FROM msteams.idempotency_keys), (SELECT count(*) FROM msteams.dead_letter_payloads);
SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-1@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch'),
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'chat',
                           'destination_id', 'aaaaaaaa-0000-0000-0000-0000000000dd', 'payload', :botmsg::jsonb,
                           'internal_notification_id', 'bad-batch'),
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'not a user', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch'))),
    '22023', 'enqueue_notifications: deliveries[3].destination_id does not have the shape of a user_activity destination',
    'a bad 3rd item fails the batch, naming deliveries[3] and the field');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-2@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch'),
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-3@a1.example', 'internal_notification_id', 'bad-batch'))),
    '22004', 'enqueue_notifications: deliveries[2].payload must not be null', 'a missing payload is 22004, naming deliveries[2]');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-4@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch'),
        'not an object'::text)),
    '22023', 'enqueue_notifications: deliveries[2].delivery is not a JSON object', 'an element that is not an object is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-5@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch',
                           'colour', 'red'))),
    '22023', 'enqueue_notifications: deliveries[1].delivery has an unknown field', 'an unknown field is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-6@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch',
                           'run_at', 'next tuesday-ish'))),
    '22023', 'enqueue_notifications: deliveries[1].run_at is not a timestamp', 'a run_at that is not a timestamp is refused');
-- A run_at so late that run_at + the category's default expiry leaves the timestamp range: refused
-- as a bad value, not an internal "timestamp out of range" (22008) from the write.
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    jsonb_build_array(
        jsonb_build_object('category', 'assignment', 'priority', 'high', 'destination_type', 'user_activity',
                           'destination_id', 'ok-7@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'bad-batch',
                           'run_at', '294276-12-30 00:00:00+00'))),
    '22023', NULL, 'a run_at at the end of the timestamp range is refused with 22023');
RESET ROLE;
INSERT INTO counts SELECT 'after', (SELECT count(*) FROM msteams.outbox), (SELECT count(*) FROM msteams.notification_deliveries),
                          (SELECT count(*) FROM msteams.idempotency_keys), (SELECT count(*) FROM msteams.dead_letter_payloads);
SELECT is((SELECT row(a.outbox, a.ledger, a.keys, a.dead)::text FROM counts AS a WHERE a.label = 'after'),
          (SELECT row(b.outbox, b.ledger, b.keys, b.dead)::text FROM counts AS b WHERE b.label = 'before'),
          'the refused batches wrote nothing: outbox, ledger, keys and dead letters unchanged');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'bad-batch'), 0,
          'not even the valid items (one of them a skip) of a refused batch are recorded');

-- The array itself.
SET LOCAL ROLE msteams_app;
SELECT is_empty($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', '[]') $$,
                'an empty array returns no rows');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', '{"deliveries": []}') $$,
    '22023', 'enqueue_notifications: deliveries must be a JSON array', 'an object instead of an array is refused');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', NULL) $$,
    '22004', 'enqueue_notifications: deliveries must be a JSON array', 'a null array is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    (SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 10001))),
    '22023', 'enqueue_notifications: 10001 deliveries in one call is over the limit of 10000', 'over 10,000 items is refused');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications(NULL, '[]') $$,
    '22004', 'enqueue_notifications: tenant must not be null', 'a null tenant is refused');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', %L) $$,
    (SELECT b.items FROM batch AS b)), '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;

SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', '[]') $$,
    '42501', NULL, 'the reader role cannot enqueue');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', '[]') $$,
    '42501', NULL, 'the runner role cannot enqueue');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', '[]') $$,
    '42501', NULL, 'the admin role cannot enqueue');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
