-- views: unacknowledged_critical, delivery_health, queue_status, dead_letters.
BEGIN;
SELECT plan(26);

SELECT has_view('msteams', v, format('view %s exists', v))
  FROM unnest(ARRAY['unacknowledged_critical', 'delivery_health', 'queue_status', 'dead_letters']) AS v;
SELECT is_empty($$
    SELECT c.relname FROM pg_class AS c
     WHERE c.relnamespace = 'msteams'::regnamespace
       AND c.relname IN ('unacknowledged_critical', 'delivery_health', 'queue_status', 'dead_letters')
       AND (NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
            OR NOT has_table_privilege('msteams_reader', c.oid, 'SELECT')
            OR has_table_privilege('public', c.oid, 'SELECT')
            OR pg_get_userbyid(c.relowner) <> 'msteams_owner')
$$, 'every view is security_invoker, owned by msteams_owner, readable by msteams_reader and not by PUBLIC');
SELECT hasnt_column('msteams', 'dead_letters', 'payload', 'dead_letters never shows a payload');

-- Ledger: tenant a1 over the last 24 hours, one older row, and one b2 row.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at, responded_at, response_action,
     status_code, error_code, error_message, retry_at)
VALUES
    -- sent, critical, nobody responded: unacknowledged (latency 1 s)
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '3 hours', 990001, 1, 'sent', true, 'n-1', 'escalation', 'critical',
     'user_activity', 'u-1', 'k1', now() - interval '3 hours 1 second', now() - interval '3 hours', NULL, NULL, 201, NULL, NULL, NULL),
    -- delivered, high, nobody responded: unacknowledged (latency 2 s)
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '2 hours', 990002, 1, 'delivered', true, 'n-2', 'sla_risk', 'high',
     'chat', '19:c@thread.v2', 'k2', now() - interval '2 hours 2 seconds', now() - interval '2 hours', NULL, NULL, 201, NULL, NULL, NULL),
    -- sent, high, acknowledged: not listed (latency 3 s)
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '1 hour', 990003, 1, 'sent', true, 'n-3', 'escalation', 'high',
     'user_activity', 'u-3', 'k3', now() - interval '1 hour 3 seconds', now() - interval '1 hour', now(), 'acknowledge', 201, NULL, NULL, NULL),
    -- failed twice then failed for good: critical, never sent, not listed
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '50 minutes', 990004, 1, 'failed', false, 'n-4', 'escalation', 'critical',
     'user_activity', 'u-4', 'k4a', now() - interval '51 minutes', NULL, NULL, NULL, 429, 'graph_throttled', 'Too Many Requests', now()),
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '40 minutes', 990004, 2, 'failed', false, 'n-4', 'escalation', 'critical',
     'user_activity', 'u-4', 'k4b', now() - interval '51 minutes', NULL, NULL, NULL, 429, 'graph_throttled', 'Too Many Requests', now()),
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '30 minutes', 990004, 3, 'failed', true, 'n-4', 'escalation', 'critical',
     'user_activity', 'u-4', 'k4c', now() - interval '51 minutes', NULL, NULL, NULL, 404, 'graph_not_found', 'Not Found', NULL),
    -- skipped
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '20 minutes', 990005, 1, 'skipped', true, 'n-5', 'assignment', 'medium',
     'user_activity', 'u-5', 'k5', now() - interval '20 minutes', NULL, NULL, NULL, NULL, 'user_not_mapped', NULL, NULL),
    -- medium priority sent: not critical
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '10 minutes', 990006, 1, 'sent', true, 'n-6', 'assignment', 'medium',
     'user_activity', 'u-6', 'k6', now() - interval '10 minutes', now() - interval '10 minutes', NULL, NULL, 201, NULL, NULL, NULL),
    -- two days old: outside delivery_health's window, still unacknowledged (latency 9 s, not counted)
    ('00000000-0000-0000-0000-0000000000a1', now() - interval '2 days', 990007, 1, 'sent', true, 'n-7', 'escalation', 'critical',
     'user_activity', 'u-7', 'k7', now() - interval '2 days 9 seconds', now() - interval '2 days', NULL, NULL, 201, NULL, NULL, NULL),
    -- the other tenant
    ('00000000-0000-0000-0000-0000000000b2', now() - interval '1 hour', 990008, 1, 'sent', true, 'n-8', 'escalation', 'critical',
     'user_activity', 'u-8', 'k8', now() - interval '1 hour', now() - interval '1 hour', NULL, NULL, 201, NULL, NULL, NULL);
-- The medium delivery 990006 is sent too (latency 0 s).

-- Outbox of a1: two due, one leased, one with an expired lease, one scheduled; one row of b2.
INSERT INTO msteams.outbox (tenant, delivery_id, available_at, attempt_count, max_attempts, locked_by, lease_id, priority,
                            category, destination_type, destination_id, transport, internal_notification_id, enqueue_key,
                            payload, created_at)
SELECT q.tenant::uuid, q.id, now() + q.due_in, 0, 6, q.locked_by, CASE WHEN q.locked_by IS NOT NULL THEN gen_random_uuid() END,
       'high', 'assignment', 'user_activity', 'u', 'graph', 'q-' || q.id, 'e-' || q.id, '{}', now() - q.age
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1', 991001, interval '-3 minutes', NULL, interval '4 minutes'),
               ('00000000-0000-0000-0000-0000000000a1', 991002, interval '-1 minute',  NULL, interval '1 minute'),
               ('00000000-0000-0000-0000-0000000000a1', 991003, interval '5 minutes',  'runner-1', interval '2 minutes'),
               ('00000000-0000-0000-0000-0000000000a1', 991004, interval '-2 minutes', 'runner-2', interval '30 minutes'),
               ('00000000-0000-0000-0000-0000000000a1', 991005, interval '1 hour',     NULL, interval '3 minutes'),
               ('00000000-0000-0000-0000-0000000000b2', 991006, interval '0',          NULL, interval '0'))
       AS q(tenant, id, due_in, locked_by, age);

-- Dead letters: 990004 (failed, with ledger rows) and 990099 (skipped; its ledger rows are gone).
INSERT INTO msteams.dead_letter_payloads (tenant, delivery_id, final_status, error_code, attempt_count, priority, category,
                                          destination_type, destination_id, internal_notification_id, enqueue_key, payload,
                                          enqueued_at, closed_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', 990004, 'failed', 'graph_not_found', 3, 'critical', 'escalation', 'user_activity',
        'u-4', 'n-4', 'e-4', '{"secret":"payload"}', now() - interval '51 minutes', now() - interval '30 minutes'),
       ('00000000-0000-0000-0000-0000000000a1', 990099, 'skipped', 'user_not_mapped', 0, 'low', 'assignment', 'user_activity',
        'u-99', 'n-99', 'e-99', '{"secret":"payload"}', now() - interval '100 days', now() - interval '100 days'),
       ('00000000-0000-0000-0000-0000000000b2', 990098, 'failed', 'transient', 6, 'low', 'assignment', 'user_activity',
        'u-98', 'n-98', 'e-98', '{"secret":"payload"}', now(), now());

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

-- unacknowledged_critical
SELECT results_eq(
    $$ SELECT u.delivery_id, u.priority, u.category, u.destination_type, u.internal_notification_id, u.age
         FROM msteams.unacknowledged_critical AS u ORDER BY u.age DESC $$,
    $$ VALUES (990007::bigint, 'critical', 'escalation', 'user_activity', 'n-7', interval '2 days'),
              (990001, 'critical', 'escalation', 'user_activity', 'n-1', interval '3 hours'),
              (990002, 'high', 'sla_risk', 'chat', 'n-2', interval '2 hours') $$,
    'unacknowledged_critical: sent or delivered, critical or high, no response, with age; oldest first by age');
SELECT is((SELECT u.tenant FROM msteams.unacknowledged_critical AS u WHERE u.delivery_id = 990001),
          '00000000-0000-0000-0000-0000000000a1'::uuid, 'it carries the tenant');
RESET ROLE;
-- A delivery whose delivered outcome was recorded as its own row stays one row, and a response on
-- either row acknowledges it.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at, delivered_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', now() - interval '119 minutes', 990002, 1, 'delivered', true, 'n-2', 'sla_risk', 'high',
        'chat', '19:c@thread.v2', 'k2b', now() - interval '2 hours 2 seconds', NULL, now() - interval '119 minutes');
SET LOCAL ROLE msteams_reader;
SELECT is((SELECT count(*)::int FROM msteams.unacknowledged_critical AS u WHERE u.delivery_id = 990002), 1,
          'one row per delivery, however many sent/delivered rows it has');
RESET ROLE;
UPDATE msteams.notification_deliveries AS d SET responded_at = now(), response_action = 'acknowledge'
 WHERE d.delivery_id = 990002 AND d.idempotency_key = 'k2b';
SET LOCAL ROLE msteams_reader;
SELECT is((SELECT count(*)::int FROM msteams.unacknowledged_critical AS u WHERE u.delivery_id = 990002), 0,
          'a response on any of its rows acknowledges the delivery');
RESET ROLE;
DELETE FROM msteams.notification_deliveries AS d WHERE d.idempotency_key = 'k2b';
SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

-- delivery_health
SELECT results_eq(
    $$ SELECT h.sent, h.delivered, h.failed_final, h.retried, h.skipped FROM msteams.delivery_health AS h $$,
    $$ VALUES (3::bigint, 1::bigint, 1::bigint, 2::bigint, 1::bigint) $$,
    'delivery_health counts the last 24 hours by outcome (the two-day-old row is outside)');
SELECT is((SELECT h.error_codes FROM msteams.delivery_health AS h),
          '{"graph_not_found": 1, "graph_throttled": 2, "user_not_mapped": 1}'::jsonb,
          'error_codes counts rows per code');
SELECT is((SELECT h.failure_rate FROM msteams.delivery_health AS h), 0.2000,
          'failure_rate = failed_final / (sent + delivered + failed_final) = 1 / 5');
SELECT results_eq($$ SELECT h.p50_latency_ms, h.p95_latency_ms FROM msteams.delivery_health AS h $$,
                  $$ VALUES (1500.0::numeric, 2850.0::numeric) $$,
                  'p50 and p95 of sent_at - enqueued_at in ms over sent and delivered rows (0, 1, 2, 3 s)');
SELECT is((SELECT count(*)::int FROM msteams.delivery_health), 1, 'a reader sees one row: its tenant');

-- queue_status
SELECT results_eq(
    $$ SELECT q.due, q.leased, q.expired_leases, q.scheduled, q.total, q.oldest_due_age, q.oldest_created_age
         FROM msteams.queue_status AS q $$,
    $$ VALUES (2::bigint, 1::bigint, 1::bigint, 1::bigint, 5::bigint, interval '3 minutes', interval '30 minutes') $$,
    'queue_status: due, leased, expired leases, scheduled, total, oldest due and oldest created ages');

-- dead_letters
SELECT results_eq(
    $$ SELECT x.delivery_id, x.final_status, x.error_code, x.attempt_count, x.status_code, x.error_message
         FROM msteams.dead_letters AS x ORDER BY x.delivery_id $$,
    $$ VALUES (990004::bigint, 'failed', 'graph_not_found', 3::smallint, 404::smallint, 'Not Found'),
              (990099, 'skipped', 'user_not_mapped', 0::smallint, NULL::smallint, NULL::text) $$,
    'dead_letters: the dead letters with the last ledger row''s status_code and error_message (NULL when none is left)');
SELECT is((SELECT x.closed_at FROM msteams.dead_letters AS x WHERE x.delivery_id = 990004), now() - interval '30 minutes',
          'with closed_at');

-- Isolation: another tenant set, then none, then an admin.
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT is((SELECT array_agg(u.delivery_id) FROM msteams.unacknowledged_critical AS u), ARRAY[990008::bigint],
          'tenant b2 sees only its own unacknowledged delivery');
SELECT is((SELECT count(*)::int FROM msteams.dead_letters), 1, 'tenant b2 sees only its own dead letter');
SET LOCAL msteams.tenant = '';
SELECT is((SELECT count(*)::int FROM msteams.queue_status), 0, 'a reader without msteams.tenant sees no queue rows');
SELECT is((SELECT count(*)::int FROM msteams.delivery_health), 0, 'a reader without msteams.tenant sees no health rows');
RESET ROLE;
SET LOCAL ROLE msteams_admin;
SELECT is((SELECT count(*)::int FROM msteams.queue_status), 2, 'an admin sees every tenant''s queue');
SELECT is((SELECT count(*)::int FROM msteams.unacknowledged_critical), 4, 'an admin sees every tenant''s unacknowledged deliveries');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.queue_status $$, '42501', NULL, 'the runner role cannot read the views');
SELECT throws_ok($$ SELECT * FROM msteams.dead_letters $$, '42501', NULL, 'nor the dead letters');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
