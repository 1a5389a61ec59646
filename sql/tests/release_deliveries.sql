-- release_deliveries: a stopping runner gives back its leases; the attempt it never started does not count.
BEGIN;
SELECT plan(21);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'release_deliveries', ARRAY['text', 'bigint[]']);

SET LOCAL ROLE msteams_app;
SELECT delivery_id AS d1 FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'critical',
    'user_activity', 'u1@a1.example', :feed, 'rel-1') \gset
SELECT delivery_id AS d2 FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u2@a1.example', :feed, 'rel-2') \gset
SELECT delivery_id AS d3 FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'low',
    'user_activity', 'u3@a1.example', :feed, 'rel-3') \gset
RESET ROLE;

-- runner-1 takes the two most urgent, runner-2 the third.
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE c1 ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-1', 2, interval '10 minutes');
CREATE TEMP TABLE c2 ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-2', 10, interval '10 minutes');
RESET ROLE;
SELECT is((SELECT array_agg(c.delivery_id ORDER BY c.delivery_id) FROM c1 AS c), ARRAY[:d1, :d2]::bigint[],
          'runner-1 holds the critical and the high one');
SELECT is((SELECT array_agg(c.delivery_id) FROM c2 AS c), ARRAY[:d3]::bigint[], 'runner-2 holds the low one');
SELECT lease_id AS r2_lease FROM c2 \gset
SELECT lease_id AS d1_lease FROM c1 WHERE delivery_id = :d1 \gset

SET LOCAL ROLE msteams_runner;
SELECT is(msteams.release_deliveries('runner-1'), 2, 'release returns how many leases it gave back');
RESET ROLE;
SELECT results_eq($$ SELECT o.delivery_id, o.locked_by, o.lease_id, o.attempt_count::int, o.available_at <= now()
                       FROM msteams.outbox AS o WHERE o.delivery_id IN ($$ || :d1 || ', ' || :d2 || $$) ORDER BY o.delivery_id $$,
                  format('VALUES (%s::bigint, NULL::text, NULL::uuid, 0, true), (%s, NULL, NULL, 0, true)', :d1, :d2),
                  'released: no lease, due now, and the attempt that never started does not count');
SELECT is((SELECT row(o.locked_by, o.lease_id = :'r2_lease'::uuid, o.attempt_count)::text FROM msteams.outbox AS o
            WHERE o.delivery_id = :d3), '(runner-2,t,1)', 'another runner''s lease is untouched');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id LIKE 'rel-%'), 0,
          'a release writes no ledger row');

-- The released deliveries are claimable at once, as attempt 1 again.
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE c3 ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-3', 10, interval '10 minutes');
RESET ROLE;
SELECT results_eq($$ SELECT c.delivery_id, c.attempt_number::int, c.reclaimed FROM c3 AS c ORDER BY c.delivery_id $$,
                  format('VALUES (%s::bigint, 1, false), (%s, 1, false)', :d1, :d2),
                  'another runner claims them at once, as attempt 1, not as a reclaim');

-- runner-1's late report for a lease it gave back changes nothing.
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT c.outcome FROM msteams.complete_delivery('runner-1', '00000000-0000-0000-0000-0000000000a1', :d1, :'d1_lease', 'sent') AS c),
          'lease_lost', 'a report for a released lease is lease_lost');
RESET ROLE;
SELECT is((SELECT o.locked_by FROM msteams.outbox AS o WHERE o.delivery_id = :d1), 'runner-3', '… and the new holder keeps it');

-- Only the ids asked for; ids another runner holds are not released.
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.release_deliveries('runner-3', ARRAY[:d2]::bigint[]), 1, 'release with an id list gives back only those');
RESET ROLE;
SELECT is((SELECT string_agg(coalesce(o.locked_by, '-'), ',' ORDER BY o.delivery_id) FROM msteams.outbox AS o
            WHERE o.internal_notification_id LIKE 'rel-%'), 'runner-3,-,runner-2', 'd1 still held by runner-3, d2 free, d3 runner-2''s');
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.release_deliveries('runner-3', ARRAY[:d3]::bigint[]), 0, 'an id held by another runner is not released');
SELECT is(msteams.release_deliveries('runner-3', ARRAY[]::bigint[]), 0, 'an empty id list releases nothing');
SELECT is(msteams.release_deliveries('nobody'), 0, 'a runner that holds nothing releases nothing');

-- A lease that expired but was not reclaimed is still the runner's to give back.
RESET ROLE;
UPDATE msteams.outbox SET available_at = now() - interval '1 minute' WHERE delivery_id = :d3;
SET LOCAL ROLE msteams_runner;
SELECT is(msteams.release_deliveries('runner-2'), 1, 'an expired lease not yet reclaimed is released');
RESET ROLE;
SELECT is((SELECT row(o.locked_by, o.attempt_count)::text FROM msteams.outbox AS o WHERE o.delivery_id = :d3), '(,0)',
          '… without counting the attempt');

-- Errors and roles.
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.release_deliveries(NULL) $$, '22004', 'release_deliveries: worker must not be null',
                 'a null worker is refused');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.release_deliveries('runner-3') $$, '42501', NULL, 'the app role cannot release');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.release_deliveries('runner-3') $$, '42501', NULL, 'the reader role cannot release');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.release_deliveries('runner-3') $$, '42501', NULL, 'the admin role cannot release');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
