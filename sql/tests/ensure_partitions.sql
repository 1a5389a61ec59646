-- ensure_partitions: monthly partitions ahead, secured like their parent; stranded rows rescued.
BEGIN;
SELECT plan(27);

SELECT has_function('msteams', 'ensure_partitions', ARRAY['integer', 'timestamp with time zone']);
SELECT is_definer('msteams', 'ensure_partitions', ARRAY['integer', 'timestamp with time zone']);

SET LOCAL ROLE msteams_admin;
SELECT results_eq(
    $$ SELECT table_name, partition_name, range_start, range_end, moved_rows
         FROM msteams.ensure_partitions(2, p_now => '2031-01-15 12:00+00') ORDER BY 1, 2 $$,
    $$ VALUES ('audit_events', 'audit_events_p203101', '2031-01-01 00:00+00'::timestamptz, '2031-02-01 00:00+00'::timestamptz, 0::bigint),
              ('audit_events', 'audit_events_p203102', '2031-02-01 00:00+00', '2031-03-01 00:00+00', 0),
              ('audit_events', 'audit_events_p203103', '2031-03-01 00:00+00', '2031-04-01 00:00+00', 0),
              ('notification_deliveries', 'notification_deliveries_p203101', '2031-01-01 00:00+00', '2031-02-01 00:00+00', 0),
              ('notification_deliveries', 'notification_deliveries_p203102', '2031-02-01 00:00+00', '2031-03-01 00:00+00', 0),
              ('notification_deliveries', 'notification_deliveries_p203103', '2031-03-01 00:00+00', '2031-04-01 00:00+00', 0) $$,
    'the current month and two ahead are created for every partitioned table');
SELECT is_empty($$ SELECT * FROM msteams.ensure_partitions(2, p_now => '2031-01-15 12:00+00') $$,
                'a second run creates nothing (idempotent)');
SELECT is((SELECT count(*)::int FROM msteams.ensure_partitions(0, p_now => '2031-01-31 23:59:59+00')), 0,
          'the month is taken in UTC: the last second of January needs no new partition');
RESET ROLE;

-- New partitions are secured like their parent: RLS, both policies, the reader grant, no writes.
SELECT is((SELECT count(*)::int FROM pg_class AS c
            WHERE c.relnamespace = 'msteams'::regnamespace AND c.relname ~ '_p20310[1-3]$' AND c.relrowsecurity),
          6, 'every new partition has row level security enabled');
SELECT is((SELECT count(*)::int FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid
            WHERE c.relnamespace = 'msteams'::regnamespace AND c.relname ~ '_p20310[1-3]$'
              AND p.polname IN (c.relname || '_tenant_read', c.relname || '_admin_read')),
          12, 'every new partition has the tenant read and admin read policies');
SELECT ok(has_table_privilege('msteams_reader', 'msteams.notification_deliveries_p203102', 'SELECT'),
          'readers may select from a new partition (RLS scopes what they see)');
SELECT is_empty($$ SELECT c.relname || ' ' || r.role || ' ' || p.priv FROM pg_class AS c
                    CROSS JOIN unnest(ARRAY['msteams_app', 'msteams_runner', 'msteams_reader', 'msteams_admin']) AS r(role)
                    CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
                    WHERE c.relnamespace = 'msteams'::regnamespace AND c.relname ~ '_p20310[1-3]$'
                      AND has_table_privilege(r.role, c.oid, p.priv) $$,
                'no app role can write a new partition directly');
SELECT isnt(obj_description('msteams.audit_events_p203101'::regclass, 'pg_class'), NULL, 'a new partition has a comment');
SELECT throws_ok($$ TRUNCATE msteams.audit_events_p203101 $$, '55000', NULL,
                 'a new audit partition carries the append-only TRUNCATE guard');

-- A new partition is tenant-scoped for an app role.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
     priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
SELECT v.tenant, '2031-02-10 00:00+00', v.id, 1, 'sent', true, 'n-' || v.id, 'assignment', 'high', 'user_activity',
       'u1', 'k-' || v.id, now(), now()
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid, 1), ('00000000-0000-0000-0000-0000000000b2', 2)) AS v(tenant, id);
SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT is((SELECT array_agg(d.delivery_id) FROM msteams.notification_deliveries_p203102 AS d), ARRAY[1::bigint],
          'an app role reading a new partition directly sees its own tenant only');
RESET msteams.tenant;
RESET ROLE;

-- Rows stranded in a default partition (a month nobody made) are moved into a proper partition.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
     priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', '2031-06-10 08:00+00', 3, 1, 'sent', true, 'n-3', 'assignment',
        'high', 'user_activity', 'u1', 'k-3', now(), now());
INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id, result_status, payload_hash)
VALUES ('00000000-0000-0000-0000-0000000000a1', '2031-06-10 08:00+00', 'bot', 'acknowledge', 'user-1', 'success', repeat('c', 64));
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries_default), 1, 'setup: a ledger row sits in the default partition');
SET LOCAL ROLE msteams_admin;
SELECT results_eq(
    $$ SELECT table_name, partition_name, moved_rows FROM msteams.ensure_partitions(0, p_now => '2031-01-15 12:00+00') ORDER BY 1 $$,
    $$ VALUES ('audit_events', 'audit_events_p203106', 1::bigint),
              ('notification_deliveries', 'notification_deliveries_p203106', 1::bigint) $$,
    'the stranded month gets its partition and the rows are moved into it');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries_default) + (SELECT count(*)::int FROM msteams.audit_events_default),
          0, 'the default partitions are empty again');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries_p203106) + (SELECT count(*)::int FROM msteams.audit_events_p203106),
          2, 'the moved rows are in their month''s partitions');
SELECT ok((SELECT c.relrowsecurity FROM pg_class AS c WHERE c.oid = 'msteams.notification_deliveries_p203106'::regclass),
          'a partition built to rescue rows is secured too');
SELECT throws_ok($$ DELETE FROM msteams.audit_events $$, '55000', NULL,
                 'moving audit rows does not leave the append-only guard switched off');

-- A partition with other bounds over the month: refused, naming both.
CREATE TABLE msteams.notification_deliveries_odd PARTITION OF msteams.notification_deliveries
    FOR VALUES FROM ('2033-01-10 00:00+00') TO ('2033-02-10 00:00+00');
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions(0, p_now => '2033-01-15 00:00+00') $$, '55000', NULL,
                 'a month overlapped by a partition with other bounds is refused with 55000');
SELECT throws_like($$ SELECT * FROM msteams.ensure_partitions(0, p_now => '2033-01-15 00:00+00') $$,
                   'ensure_partitions: cannot create notification_deliveries_p203301 %partition notification_deliveries_odd overlaps it',
                   'the refusal names the partition it cannot create and the one in the way');

-- Bad arguments, named.
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions(-1) $$, '22023',
                 'ensure_partitions: months_ahead -1 is out of range', 'a negative months_ahead is refused');
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions(37) $$, '22023',
                 'ensure_partitions: months_ahead 37 is out of range', 'more than 36 months ahead is refused');
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions(NULL) $$, '22023',
                 'ensure_partitions: months_ahead NULL is out of range', 'a null months_ahead is refused');
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions(3, NULL) $$, '22004',
                 'ensure_partitions: now must not be null', 'a null now is refused');
RESET ROLE;

-- Only the admin role may run it.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions() $$, '42501', NULL, 'the app role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions() $$, '42501', NULL, 'the reader role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.ensure_partitions() $$, '42501', NULL, 'the runner role is denied');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
