-- retry_failed: queue a notification again only to the destinations whose last outcome was not a success.
BEGIN;
SELECT plan(26);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'retry_failed', ARRAY['uuid', 'text']);

-- One notification to four destinations: one will be sent, one fails for good, two are skipped
-- at enqueue (no conversation with the user); one of those users talks to the bot later.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE enq ON COMMIT DROP AS
SELECT e.* FROM msteams.enqueue_notifications('00000000-0000-0000-0000-0000000000a1', jsonb_build_array(
    jsonb_build_object('category', 'escalation', 'priority', 'high', 'destination_type', 'user_activity',
                       'destination_id', 'sent@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'rf-1'),
    jsonb_build_object('category', 'escalation', 'priority', 'high', 'destination_type', 'user_activity',
                       'destination_id', 'dead@a1.example', 'payload', :feed::jsonb, 'internal_notification_id', 'rf-1'),
    jsonb_build_object('category', 'escalation', 'priority', 'high', 'destination_type', 'chat',
                       'destination_id', 'aaaaaaaa-0000-0000-0000-000000000003', 'payload', :botmsg::jsonb,
                       'internal_notification_id', 'rf-1'),
    jsonb_build_object('category', 'escalation', 'priority', 'high', 'destination_type', 'chat',
                       'destination_id', 'aaaaaaaa-0000-0000-0000-000000000004', 'payload', :botmsg::jsonb,
                       'internal_notification_id', 'rf-1'))) AS e;
RESET ROLE;
SELECT delivery_id AS sent_id FROM enq WHERE ordinal = 1 \gset
SELECT delivery_id AS dead_id FROM enq WHERE ordinal = 2 \gset
SELECT delivery_id AS later_id FROM enq WHERE ordinal = 3 \gset
SELECT delivery_id AS never_id FROM enq WHERE ordinal = 4 \gset
SELECT results_eq($$ SELECT e.status, e.error_code FROM enq AS e ORDER BY e.ordinal $$,
                  $$ VALUES ('queued', NULL::text), ('queued', NULL), ('skipped', 'user_not_mapped'), ('skipped', 'user_not_mapped') $$,
                  'setup: two queued, two skipped as user_not_mapped');

SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE claimed ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-1', 10);
SELECT is((SELECT count(*)::int FROM msteams.complete_deliveries('runner-1', (SELECT jsonb_agg(jsonb_build_object(
           'tenant', c.tenant, 'delivery_id', c.delivery_id, 'lease_id', c.lease_id,
           'status', CASE WHEN c.delivery_id = :sent_id THEN 'sent' ELSE 'failed' END,
           'error_code', CASE WHEN c.delivery_id = :dead_id THEN 'graph_not_found' END)) FROM claimed AS c)) AS r
             WHERE r.outcome = 'final'), 2, 'setup: one sent, one failed for good');
RESET ROLE;

-- The user behind the third destination now has a personal conversation with the bot.
SET LOCAL ROLE msteams_app;
SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000003',
    'a:personal-3', 'https://smba.trafficmanager.net/amer/', 'personal') IS NOT NULL AS captured \gset

CREATE TEMP TABLE retried ON COMMIT DROP AS
SELECT r.* FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') AS r;
RESET ROLE;
SELECT set_eq($$ SELECT r.delivery_id, r.destination_id, r.status, r.error_code FROM retried AS r $$,
    format('VALUES (%s::bigint, %L, %L, NULL::text), (%s, %L, %L, NULL), (%s, %L, %L, %L)',
           :dead_id, 'dead@a1.example', 'queued', :later_id, 'aaaaaaaa-0000-0000-0000-000000000003', 'queued',
           :never_id, 'aaaaaaaa-0000-0000-0000-000000000004', 'skipped', 'user_not_mapped'),
    'the failed and both skipped destinations are retried, not the sent one: two queued, one still skipped');

-- What the retry wrote.
SELECT set_eq($$ SELECT o.delivery_id FROM msteams.outbox AS o WHERE o.internal_notification_id = 'rf-1' $$,
              ARRAY[:dead_id, :later_id]::bigint[], 'the failed and the now resolvable delivery are back in the outbox, same ids');
SELECT is((SELECT row(o.payload = :feed::jsonb, o.transport, o.attempt_count, o.locked_by)::text FROM msteams.outbox AS o
            WHERE o.delivery_id = :dead_id), '(t,graph,1,)', 'the failed one is queued with its kept payload');
SELECT is((SELECT row(o.payload = :botmsg::jsonb, o.transport, o.conversation_id, o.available_at <= now())::text
             FROM msteams.outbox AS o WHERE o.delivery_id = :later_id),
          '(t,bot,a:personal-3,t)', 'the skipped one is resolved to the new conversation and due now');
SELECT results_eq($$ SELECT p.delivery_id, p.final_status, p.error_code, p.payload = $$ || quote_literal(:botmsg) || $$::jsonb
                       FROM msteams.dead_letter_payloads AS p WHERE p.internal_notification_id = 'rf-1' $$,
                  format('VALUES (%s::bigint, %L, %L, true)', :never_id, 'skipped', 'user_not_mapped'),
                  'only the still unresolvable one stays parked, with its code and payload');
SELECT is((SELECT row(d.status, d.final, d.error_code)::text FROM msteams.notification_deliveries AS d
            WHERE d.delivery_id = :never_id ORDER BY d.created_at DESC, d.ledger_id DESC LIMIT 1),
          '(skipped,t,user_not_mapped)', 'the still unresolvable one gets another final skipped ledger row');
SELECT is((SELECT string_agg(d.status, ',') FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id), 'sent',
          'the sent destination''s ledger is untouched');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.delivery_id = :sent_id), 0, 'the sent destination is not queued');

-- Again: the queued ones are no longer dead letters; only the still-skipped one comes back.
SET LOCAL ROLE msteams_app;
SELECT results_eq($$ SELECT r.delivery_id, r.status, r.error_code FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') AS r $$,
                  format('VALUES (%s::bigint, %L, %L)', :never_id, 'skipped', 'user_not_mapped'),
                  'a second retry_failed touches only what is still parked');
SELECT is_empty($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'no-such-notification') $$,
                'an unknown notification: no rows');
SELECT is_empty($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000b2', 'rf-1') $$,
                'another tenant''s notification of the same id: no rows');
RESET ROLE;

-- The retried deliveries are sent; every attempt keeps its own ledger row and key (DESIGN §10).
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE claimed2 ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-2', 10);
SELECT set_eq($$ SELECT c.delivery_id FROM claimed2 AS c $$, ARRAY[:dead_id, :later_id]::bigint[],
              'the two retried deliveries are claimed');
SELECT is((SELECT c.attempt_number::int FROM claimed2 AS c WHERE c.delivery_id = :dead_id), 2,
          'the failed one as attempt 2: the attempt count survives the dead letter');
SELECT is((SELECT count(*)::int FROM msteams.complete_deliveries('runner-2', (SELECT jsonb_agg(jsonb_build_object(
           'tenant', c.tenant, 'delivery_id', c.delivery_id, 'lease_id', c.lease_id, 'status', 'sent')) FROM claimed2 AS c)) AS r
             WHERE r.outcome = 'final'), 2, 'both are sent');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'rf-1' AND d.status = 'sent'),
          3, 'all three reachable destinations are now sent');
SELECT is((SELECT count(*)::int FROM (SELECT d.delivery_id, d.idempotency_key FROM msteams.notification_deliveries AS d
                                        WHERE d.internal_notification_id = 'rf-1'
                                        GROUP BY d.delivery_id, d.idempotency_key HAVING count(*) > 1) AS dup), 0,
          'no two ledger rows of a delivery share an attempt number (ledger key), across skips and retries');

-- Validation, tenant context, roles.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', '') $$,
    '22004', 'retry_failed: internal_notification_id must not be empty', 'an empty notification id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', NULL) $$,
    '22004', 'retry_failed: internal_notification_id must not be empty', 'a null notification id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed(NULL, 'rf-1') $$,
    '22004', 'retry_failed: tenant must not be null', 'a null tenant is refused');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') $$,
    '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') $$,
    '42501', NULL, 'the reader role cannot retry');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') $$,
    '42501', NULL, 'the runner role cannot retry');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.retry_failed('00000000-0000-0000-0000-0000000000a1', 'rf-1') $$,
    '42501', NULL, 'the admin role cannot retry');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
