-- cleanup_notification_deliveries: ledger retention by whole partitions, and the prunes that go with it.
BEGIN;
SELECT plan(23);

SELECT has_function('msteams', 'cleanup_notification_deliveries', ARRAY['interval', 'timestamp with time zone']);
SELECT is_definer('msteams', 'cleanup_notification_deliveries', ARRAY['interval', 'timestamp with time zone']);

-- Three months of 2020 (plus the months the template made around today), with rows written as the
-- owner would (the API functions run as msteams_owner).
DO $$ BEGIN PERFORM msteams.ensure_partitions(2, p_now => '2020-01-15 00:00+00'); END $$;
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
     priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
SELECT '00000000-0000-0000-0000-0000000000a1', v.ts, v.id, 1, 'sent', true, 'n-' || v.id, 'assignment',
       'high', 'user_activity', 'u1', 'k-' || v.id, v.ts, v.ts
  FROM (VALUES (1, '2020-01-10 12:00+00'::timestamptz), (2, '2020-02-10 12:00+00'),
               (3, '2020-02-11 12:00+00'), (4, '2020-03-02 12:00+00'), (5, '2020-03-20 12:00+00')) AS v(id, ts);
INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id, created_at) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'enqueue',  'old-enqueue',  1, '2020-02-01 00:00+00'),
    ('00000000-0000-0000-0000-0000000000a1', 'delivery', 'old-delivery', 2, '2020-03-15 00:00+00'),
    ('00000000-0000-0000-0000-0000000000a1', 'enqueue',  'new-enqueue',  4, '2020-03-17 00:00+00'),
    ('00000000-0000-0000-0000-0000000000a1', 'audit',    'old-audit',    9, '2020-01-01 00:00+00');
INSERT INTO msteams.dead_letter_payloads
    (tenant, delivery_id, final_status, error_code, attempt_count, priority, category, destination_type,
     destination_id, internal_notification_id, enqueue_key, payload, enqueued_at, closed_at) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 1, 'failed', 'graph_not_found', 1, 'high', 'assignment',
     'user_activity', 'u1', 'n-1', 'e-1', '{}', '2020-01-10 12:00+00', '2020-01-10 12:05+00'),
    ('00000000-0000-0000-0000-0000000000a1', 5, 'failed', 'graph_not_found', 1, 'high', 'assignment',
     'user_activity', 'u1', 'n-5', 'e-5', '{}', '2020-03-20 12:00+00', '2020-03-20 12:05+00');

SET LOCAL ROLE msteams_admin;
-- 60 days before 2020-05-15 is 2020-03-16: January and February end before it, March does not.
SELECT results_eq(
    $$ SELECT partition_name, range_start, range_end, rows_dropped
         FROM msteams.cleanup_notification_deliveries('60 days', p_now => '2020-05-15 00:00+00') ORDER BY 1 $$,
    $$ VALUES ('notification_deliveries_p202001', '2020-01-01 00:00+00'::timestamptz, '2020-02-01 00:00+00'::timestamptz, 1::bigint),
              ('notification_deliveries_p202002', '2020-02-01 00:00+00'::timestamptz, '2020-03-01 00:00+00'::timestamptz, 2::bigint) $$,
    'the partitions whose whole month ends before the cutoff are dropped, with their row counts');
SELECT is_empty($$ SELECT * FROM msteams.cleanup_notification_deliveries('60 days', p_now => '2020-05-15 00:00+00') $$,
                'a second run with the same window drops nothing');
RESET ROLE;

SELECT ok(to_regclass('msteams.notification_deliveries_p202001') IS NULL
          AND to_regclass('msteams.notification_deliveries_p202002') IS NULL, 'the expired partitions are gone');
SELECT ok(to_regclass('msteams.notification_deliveries_p202003') IS NOT NULL,
          'the partition the cutoff falls in is kept, although part of it is older than the window');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d
            WHERE d.created_at < '2020-04-01 00:00+00'), 2, 'the rows of the kept partition are all still there');
SELECT ok(to_regclass('msteams.notification_deliveries_default') IS NOT NULL, 'the default partition is never dropped');
SELECT ok(to_regclass('msteams.audit_events_p202001') IS NOT NULL, 'audit partitions are not touched by the ledger retention');
SELECT set_eq($$ SELECT k.idempotency_key FROM msteams.idempotency_keys AS k
                  WHERE k.tenant = '00000000-0000-0000-0000-0000000000a1' $$,
              ARRAY['new-enqueue', 'old-audit'],
              'enqueue and delivery keys older than the cutoff are pruned; newer ones and audit keys stay');
SELECT set_eq($$ SELECT d.delivery_id FROM msteams.dead_letter_payloads AS d $$, ARRAY[5::bigint],
              'dead-letter payloads closed before the cutoff are pruned, later ones stay');

-- The last range partition is never dropped, however old; a partition bounded by MAXVALUE never is.
SELECT max(msteams._partition_upper_bound(i.inhrelid)) AS newest_upper
  FROM pg_inherits AS i WHERE i.inhparent = 'msteams.notification_deliveries'::regclass \gset
SET LOCAL ROLE msteams_admin;
SELECT isnt_empty($$ SELECT * FROM msteams.cleanup_notification_deliveries('1 day', p_now => '2098-01-01 00:00+00') $$,
                  'with every month expired, a run drops partitions');
RESET ROLE;
SELECT is((SELECT array_agg(msteams._partition_upper_bound(i.inhrelid))
             FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'msteams.notification_deliveries'::regclass
              AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'),
          ARRAY[:'newest_upper'::timestamptz],
          'only the newest range partition is left: the last range partition is never dropped');
CREATE TABLE msteams.notification_deliveries_pmax PARTITION OF msteams.notification_deliveries
    FOR VALUES FROM ('2100-01-01 00:00+00') TO (MAXVALUE);
SET LOCAL ROLE msteams_admin;
SELECT is((SELECT count(*)::int FROM msteams.cleanup_notification_deliveries('1 day', p_now => '2099-01-01 00:00+00')), 1,
          'once another range partition exists, the old last one goes too');
RESET ROLE;
DO $$ BEGIN PERFORM msteams.ensure_partitions(0, p_now => '2099-06-15 00:00+00'); END $$;
SET LOCAL ROLE msteams_admin;
SELECT results_eq($$ SELECT partition_name FROM msteams.cleanup_notification_deliveries('1 day', p_now => 'infinity') $$,
                  $$ VALUES ('notification_deliveries_p209906') $$,
                  'a partition bounded by MAXVALUE is never dropped, even when every other one is');
RESET ROLE;
SELECT ok(to_regclass('msteams.notification_deliveries_pmax') IS NOT NULL, 'the MAXVALUE partition is still there');

-- Bad arguments, named.
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries(NULL) $$, '22004',
                 'cleanup_notification_deliveries: retention must not be null', 'a null retention is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries('90 days', NULL) $$, '22004',
                 'cleanup_notification_deliveries: now must not be null', 'a null now is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries('23 hours') $$, '22023',
                 'cleanup_notification_deliveries: retention 23:00:00 is too short', 'a retention under one day is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries('-90 days') $$, '22023', NULL,
                 'a negative retention is refused');
RESET ROLE;

-- Only the admin role may run it.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries() $$, '42501', NULL, 'the app role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries() $$, '42501', NULL, 'the reader role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_notification_deliveries() $$, '42501', NULL, 'the runner role is denied');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
