-- cleanup_audit_events: audit retention by whole partitions (the append-only trigger stays in force).
BEGIN;
SELECT plan(19);

SELECT has_function('msteams', 'cleanup_audit_events', ARRAY['interval', 'timestamp with time zone']);
SELECT is_definer('msteams', 'cleanup_audit_events', ARRAY['interval', 'timestamp with time zone']);

-- Three months of 2020, with audit rows written as the owner would.
DO $$ BEGIN PERFORM msteams.ensure_partitions(2, p_now => '2020-01-15 00:00+00'); END $$;
INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id, result_status, payload_hash)
SELECT '00000000-0000-0000-0000-0000000000a1', v.ts, 'bot', 'acknowledge', 'user-1', 'success', repeat('a', 64)
  FROM (VALUES ('2020-01-10 12:00+00'::timestamptz), ('2020-02-10 12:00+00'), ('2020-02-11 12:00+00'),
               ('2020-03-20 12:00+00')) AS v(ts);
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
     priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', '2020-01-10 12:00+00', 1, 1, 'sent', true, 'n-1', 'assignment',
        'high', 'user_activity', 'u1', 'k-1', '2020-01-10 12:00+00', '2020-01-10 12:00+00');
INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id, created_at) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'audit',   'old-audit',   1, '2020-01-20 00:00+00'),
    ('00000000-0000-0000-0000-0000000000a1', 'audit',   'new-audit',   2, '2020-03-20 00:00+00'),
    ('00000000-0000-0000-0000-0000000000a1', 'enqueue', 'old-enqueue', 3, '2020-01-01 00:00+00');

SET LOCAL ROLE msteams_admin;
-- The default retention is 365 days: before 2021-02-15 that is 2020-02-16, after January's end only.
SELECT results_eq(
    $$ SELECT partition_name, range_start, range_end, rows_dropped
         FROM msteams.cleanup_audit_events(p_now => '2021-02-15 00:00+00') $$,
    $$ VALUES ('audit_events_p202001', '2020-01-01 00:00+00'::timestamptz, '2020-02-01 00:00+00'::timestamptz, 1::bigint) $$,
    'with the default retention of 365 days, only the month ending before the cutoff is dropped');
SELECT results_eq(
    $$ SELECT partition_name, rows_dropped FROM msteams.cleanup_audit_events('60 days', p_now => '2020-05-15 00:00+00') $$,
    $$ VALUES ('audit_events_p202002', 2::bigint) $$,
    'a shorter retention drops the next month, with its row count');
SELECT is_empty($$ SELECT * FROM msteams.cleanup_audit_events('60 days', p_now => '2020-05-15 00:00+00') $$,
                'a second run with the same window drops nothing');
RESET ROLE;

SELECT ok(to_regclass('msteams.audit_events_p202003') IS NOT NULL AND to_regclass('msteams.audit_events_default') IS NOT NULL,
          'the partition the cutoff falls in and the default partition are kept');
SELECT is((SELECT count(*)::int FROM msteams.audit_events), 1, 'the row inside the window is still there');
SELECT ok(to_regclass('msteams.notification_deliveries_p202001') IS NOT NULL, 'ledger partitions are not touched by the audit retention');
SELECT set_eq($$ SELECT k.idempotency_key FROM msteams.idempotency_keys AS k $$, ARRAY['new-audit', 'old-enqueue'],
              'audit keys older than the cutoff are pruned; newer ones and other scopes stay');
SELECT throws_ok($$ DELETE FROM msteams.audit_events $$, '55000', NULL,
                 'dropping partitions leaves the append-only rule in force: a DELETE is still refused');

-- The last range partition is never dropped, however old.
SELECT max(msteams._partition_upper_bound(i.inhrelid)) AS newest_upper
  FROM pg_inherits AS i WHERE i.inhparent = 'msteams.audit_events'::regclass \gset
SET LOCAL ROLE msteams_admin;
SELECT isnt_empty($$ SELECT * FROM msteams.cleanup_audit_events('1 day', p_now => '2098-01-01 00:00+00') $$,
                  'with every month expired, a run drops partitions');
RESET ROLE;
SELECT is((SELECT array_agg(msteams._partition_upper_bound(i.inhrelid))
             FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'msteams.audit_events'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'),
          ARRAY[:'newest_upper'::timestamptz],
          'only the newest range partition is left: the last range partition is never dropped');

-- Bad arguments, named.
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events(NULL) $$, '22004',
                 'cleanup_audit_events: retention must not be null', 'a null retention is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events('365 days', NULL) $$, '22004',
                 'cleanup_audit_events: now must not be null', 'a null now is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events('12 hours') $$, '22023',
                 'cleanup_audit_events: retention 12:00:00 is too short', 'a retention under one day is refused');
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events('-1 year') $$, '22023', NULL,
                 'a negative retention is refused');
RESET ROLE;

-- Only the admin role may run it.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events() $$, '42501', NULL, 'the app role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events() $$, '42501', NULL, 'the reader role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.cleanup_audit_events() $$, '42501', NULL, 'the runner role is denied');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
