-- next_due_at: when an idle runner should wake up next.
BEGIN;
SELECT plan(12);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'next_due_at', ARRAY[]::text[]);
SELECT function_privs_are('msteams', 'next_due_at', ARRAY[]::text[], 'msteams_runner', ARRAY['EXECUTE'],
                          'the runner role may ask');

SET LOCAL ROLE msteams_runner;
SELECT is(msteams.next_due_at(), NULL::timestamptz, 'an empty outbox: NULL');
RESET ROLE;

-- Scheduled deliveries of every priority: the earliest wins, whatever its priority.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS crit FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'user_activity', 'u1@a1.example', :feed, 'due-1', p_run_at => now() + interval '1 hour') \gset
SELECT delivery_id AS info FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000b2', 'assignment', 'info',
    'user_activity', 'u2@b2.example', :feed, 'due-2', p_run_at => now() + interval '10 minutes') \gset
SELECT delivery_id AS med FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'medium',
    'user_activity', 'u3@a1.example', :feed, 'due-3', p_run_at => now() + interval '30 minutes') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.next_due_at(), now() + interval '10 minutes',
          'the earliest due time across priorities and tenants (an info delivery before a critical one)');
SELECT is((SELECT count(*)::int FROM msteams.claim_deliveries('runner-1', 10)), 0, 'nothing is due yet');
RESET ROLE;

-- A delivery due now: now.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS now_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'low',
    'user_activity', 'u4@a1.example', :feed, 'due-4') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.next_due_at(), now(), 'a delivery due now: now');

-- Once it is claimed, its lease expiry counts (it is due again if the runner dies).
SELECT is((SELECT c.delivery_id FROM msteams.claim_deliveries('runner-1', 10, interval '2 minutes') AS c), :'now_id'::bigint,
          'the due delivery is claimed');
SELECT is(msteams.next_due_at(), now() + interval '2 minutes', 'then the lease expiry is the next due time');
RESET ROLE;

-- A scheduled retry counts too.
UPDATE msteams.outbox SET available_at = now() + interval '5 seconds' WHERE delivery_id = :'info';
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.next_due_at(), now() + interval '5 seconds', 'a due time moved earlier is seen at once');
RESET ROLE;

-- Roles: only the runner asks.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.next_due_at() $$, '42501', NULL, 'the app role cannot call next_due_at');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.next_due_at() $$, '42501', NULL, 'the reader role cannot call next_due_at');
RESET ROLE;
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.next_due_at() $$, '42501', NULL, 'the admin role cannot call next_due_at');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
