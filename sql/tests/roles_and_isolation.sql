-- roles_and_isolation: the five roles, what app roles may not do, and tenant isolation by RLS.
BEGIN;
SELECT plan(22);

SELECT ok(NOT r.rolcanlogin, format('%s is NOLOGIN', r.rolname))
  FROM pg_roles AS r
 WHERE r.rolname IN ('msteams_owner', 'msteams_app', 'msteams_runner', 'msteams_reader', 'msteams_admin')
 ORDER BY r.rolname;
SELECT is((SELECT count(*)::int FROM pg_roles
            WHERE rolname IN ('msteams_owner', 'msteams_app', 'msteams_runner', 'msteams_reader', 'msteams_admin')),
          5, 'all five roles exist');
SELECT ok(NOT r.rolsuper AND NOT r.rolbypassrls, format('%s is neither superuser nor BYPASSRLS', r.rolname))
  FROM pg_roles AS r WHERE r.rolname LIKE 'msteams\_%' AND r.rolname IN ('msteams_owner', 'msteams_app', 'msteams_runner')
 ORDER BY r.rolname;

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
       AND pg_get_userbyid(c.relowner) <> 'msteams_owner'
$$, 'msteams_owner owns every table, view and sequence');

SELECT is_empty($$
    SELECT c.oid::regclass::text || ' ' || r.role || ' ' || p.priv
      FROM pg_class AS c
     CROSS JOIN unnest(ARRAY['msteams_app', 'msteams_runner', 'msteams_reader', 'msteams_admin']) AS r(role)
     CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p')
       AND has_table_privilege(r.role, c.oid, p.priv)
$$, 'no app role can write any msteams table directly');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p')
       AND has_table_privilege('msteams_runner', c.oid, 'SELECT')
$$, 'the runner reads nothing directly: claim_deliveries is its only door');

SELECT ok(NOT has_column_privilege('msteams_reader', 'msteams.webhooks', 'url', 'SELECT'),
          'readers cannot select webhook URLs (they are secrets)');
SELECT ok(NOT has_column_privilege('msteams_reader', 'msteams.outbox', 'payload', 'SELECT'),
          'readers cannot select outbox payloads');

-- Two tenants' rows, written as the owner (the API functions run as msteams_owner).
INSERT INTO msteams.integrations (tenant, install_status) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'active'),
    ('00000000-0000-0000-0000-0000000000b2', 'active');
INSERT INTO msteams.notification_deliveries
    (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', 1, 1, 'sent', true, 'n-1', 'assignment', 'high', 'user_activity', 'u1', 'k1', now(), now()),
       ('00000000-0000-0000-0000-0000000000b2', 2, 1, 'sent', true, 'n-2', 'assignment', 'high', 'user_activity', 'u2', 'k2', now(), now());

SET LOCAL ROLE msteams_app;
SELECT is((SELECT count(*)::int FROM msteams.integrations), 0,
          'with no msteams.tenant set, an app role sees no rows');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT is((SELECT array_agg(tenant::text) FROM msteams.integrations),
          ARRAY['00000000-0000-0000-0000-0000000000a1'], 'an app role sees its own tenant''s integration only');
SELECT is((SELECT array_agg(internal_notification_id) FROM msteams.notification_deliveries),
          ARRAY['n-1'], 'an app role sees its own tenant''s ledger rows only (through the parent)');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries_default), 0,
          'a partition read directly is tenant-scoped too');
SELECT throws_ok($$ INSERT INTO msteams.integrations (tenant) VALUES ('00000000-0000-0000-0000-0000000000c3') $$,
                 '42501', NULL, 'a direct INSERT by the app role is refused');
SELECT throws_ok($$ UPDATE msteams.integrations SET install_status = 'inactive' $$,
                 '42501', NULL, 'a direct UPDATE by the app role is refused');
SELECT throws_ok($$ DELETE FROM msteams.notification_deliveries $$,
                 '42501', NULL, 'a direct DELETE on the ledger by the app role is refused');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT is((SELECT count(*)::int FROM msteams.integrations), 2, 'an admin reads every tenant');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
