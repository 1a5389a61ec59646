-- purge_tenant: a tenant's rows leave every table that has a tenant column; other tenants' rows stay.
BEGIN;
SELECT plan(26);

SELECT has_function('msteams', 'purge_tenant', ARRAY['uuid', 'boolean', 'boolean', 'integer']);
SELECT is_definer('msteams', 'purge_tenant', ARRAY['uuid', 'boolean', 'boolean', 'integer']);

-- Rows of one tenant in a table (any table), read as the superuser.
CREATE FUNCTION pg_temp.tenant_rows(p_table regclass, p_tenant uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s AS t WHERE t.tenant = $1', p_table) INTO v_n USING p_tenant;
    RETURN v_n;
END $$;
-- Every msteams table with a tenant column (partition parents, not their partitions). A table, not
-- a view: the planner would push tenant_rows() below the join and call it on tables without tenant.
CREATE TEMP TABLE tenant_tables AS
    SELECT c.oid AS rel, c.relname::text AS relname
      FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition;

-- Tenant a1 is purged, tenant b2 must not lose a row. At least one row of each in every table,
-- written as the owner would. A table added later makes test 3 fail until a row is added here.
INSERT INTO msteams.integrations (tenant, install_status) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'inactive'),
    ('00000000-0000-0000-0000-0000000000b2', 'active');
INSERT INTO msteams.conversation_references (tenant, microsoft_user_id, conversation_id, service_url, conversation_type)
SELECT t.tenant, 'user-1', 'a:conv-1', 'https://smba.trafficmanager.net/emea/', 'personal'
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.routes (tenant, route, destination_type, destination_id)
SELECT t.tenant, 'security', 'user_activity', 'user-1'
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.webhooks (tenant, webhook_name, url)
SELECT t.tenant, 'ops', 'https://example.webhook.office.com/workflows/1?sig=secret'
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.outbox (tenant, max_attempts, priority, category, destination_type, destination_id, transport,
                            internal_notification_id, enqueue_key, payload)
SELECT t.tenant, 6, 'high', 'assignment', 'user_activity', 'user-1', 'graph', 'n-queued', 'key-queued', '{}'
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
-- The ledger: five rows of a1 over two partitions (this month's and the default), one of b2.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
     priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
SELECT v.tenant, v.ts, v.id, 1, 'sent', true, 'n-' || v.id, 'assignment', 'high', 'user_activity', 'user-1',
       'k-' || v.id, v.ts, v.ts
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid, 1, now()), ('00000000-0000-0000-0000-0000000000a1', 2, now()),
               ('00000000-0000-0000-0000-0000000000a1', 3, now()),
               ('00000000-0000-0000-0000-0000000000a1', 4, '2090-01-01 00:00+00'::timestamptz),
               ('00000000-0000-0000-0000-0000000000a1', 5, '2090-01-02 00:00+00'),
               ('00000000-0000-0000-0000-0000000000b2', 6, now())) AS v(tenant, id, ts);
INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id)
SELECT t.tenant, 'enqueue', 'key-queued', 1
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.dead_letter_payloads
    (tenant, delivery_id, final_status, error_code, attempt_count, priority, category, destination_type,
     destination_id, internal_notification_id, enqueue_key, payload, enqueued_at)
SELECT t.tenant, 7, 'failed', 'graph_not_found', 1, 'high', 'assignment', 'user_activity', 'user-1', 'n-7', 'key-7', '{}', now()
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.audit_events (tenant, surface, action_id, actor_user_id, result_status, payload_hash)
SELECT t.tenant, 'bot', 'acknowledge', 'user-1', 'success', repeat('b', 64)
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);
INSERT INTO msteams.throttle_pauses (tenant, scope, paused_until, error_code)
SELECT t.tenant, 'graph', now() + interval '1 minute', 'graph_throttled'
  FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid), ('00000000-0000-0000-0000-0000000000b2')) AS t(tenant);

SELECT is_empty($$ SELECT tt.relname FROM tenant_tables AS tt
                    WHERE pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000a1') = 0
                       OR pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000b2') = 0 $$,
                'the test covers every table with a tenant column: each has rows of both tenants');

-- Dry run (the default): counts, deletes nothing.
SET LOCAL ROLE msteams_admin;
CREATE TEMP TABLE dry AS
    SELECT p.table_name, p.rows, p.complete, p.n
      FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1') WITH ORDINALITY AS p(table_name, rows, complete, n);
RESET ROLE;
SELECT set_eq($$ SELECT d.table_name FROM dry AS d $$, $$ SELECT tt.relname FROM tenant_tables AS tt $$,
              'the purge reports exactly the tables with a tenant column, found in the catalog');
SELECT is_empty($$ SELECT d.table_name FROM dry AS d JOIN tenant_tables AS tt ON tt.relname = d.table_name
                    WHERE d.rows <> pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000a1') OR d.complete $$,
                'the dry run counts the tenant''s rows of every table, and none is complete');
SELECT is((SELECT d.table_name FROM dry AS d ORDER BY d.n DESC LIMIT 1), 'integrations', 'the integration comes last');
SELECT is((SELECT d.rows FROM dry AS d WHERE d.table_name = 'notification_deliveries'), 5::bigint,
          'the ledger count spans its partitions');
SELECT is_empty($$ SELECT tt.relname FROM tenant_tables AS tt
                    WHERE pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000a1') = 0 $$,
                'a dry run deletes nothing');

-- Refused while the integration is active, unless forced.
UPDATE msteams.integrations SET install_status = 'active' WHERE tenant = '00000000-0000-0000-0000-0000000000a1';
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', p_dry_run => false) $$,
                 '55000', 'purge_tenant: tenant 00000000-0000-0000-0000-0000000000a1 has an active integration',
                 'a purge of a tenant whose integration is active is refused, naming the tenant');
RESET ROLE;
UPDATE msteams.integrations SET install_status = 'inactive' WHERE tenant = '00000000-0000-0000-0000-0000000000a1';

-- Batches: at most p_batch_size rows per table per call; the integration waits for the rest.
SET LOCAL ROLE msteams_admin;
CREATE TEMP TABLE batch1 AS
    SELECT p.* FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', p_dry_run => false, p_batch_size => 2) AS p;
RESET ROLE;
SELECT is((SELECT (b.rows, b.complete)::text FROM batch1 AS b WHERE b.table_name = 'notification_deliveries'),
          '(2,f)', 'one call removes at most batch_size rows of a table and says it is not complete');
SELECT is((SELECT (b.rows, b.complete)::text FROM batch1 AS b WHERE b.table_name = 'integrations'),
          '(0,f)', 'the integration row stays while other tables still hold the tenant''s rows');
SELECT is_empty($$ SELECT b.table_name FROM batch1 AS b WHERE b.table_name NOT IN ('notification_deliveries', 'integrations')
                     AND NOT (b.rows = 1 AND b.complete) $$,
                'the tables with one row of the tenant are complete after one call');
-- Call again until every table is complete, as `pgteams purge --execute` does.
SET LOCAL ROLE msteams_admin;
DO $$
BEGIN
    FOR i IN 1 .. 10 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', false, false, 2) AS p
                               WHERE NOT p.complete);
    END LOOP;
END $$;
SELECT is_empty($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', false, false, 2) AS p
                    WHERE p.rows <> 0 OR NOT p.complete $$,
                'after repeated calls every table is complete, and a further call finds nothing to do');
RESET ROLE;
SELECT is_empty($$ SELECT tt.relname FROM tenant_tables AS tt
                    WHERE pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000a1') > 0 $$,
                'no table holds a row of the purged tenant');
SELECT is_empty($$ SELECT tt.relname FROM tenant_tables AS tt
                    WHERE pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000b2') = 0 $$,
                'every table still holds the other tenant''s rows');
SELECT throws_ok($$ DELETE FROM msteams.audit_events $$, '55000', NULL,
                 'after the purge the audit ledger is append-only again');

-- force purges a tenant whose integration is active.
SELECT count(*) AS tenant_table_count FROM tenant_tables \gset
SET LOCAL ROLE msteams_admin;
SELECT is((SELECT count(*)::int FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000b2', false, p_force => true) AS p
            WHERE p.complete), :tenant_table_count,
          'with force, an active tenant is purged in one call');
RESET ROLE;
SELECT is_empty($$ SELECT tt.relname FROM tenant_tables AS tt
                    WHERE pg_temp.tenant_rows(tt.rel, '00000000-0000-0000-0000-0000000000b2') > 0 $$,
                'the forced purge left no row of that tenant either');

-- A table added later is found in the catalog, and foreign keys set the order: z_child references
-- a_parent, so it is purged first although its name sorts last (the other order would fail 23503).
SET LOCAL ROLE msteams_owner;      -- as a migration creates it
CREATE TABLE msteams.a_parent (tenant uuid NOT NULL, id integer NOT NULL, PRIMARY KEY (tenant, id));
CREATE TABLE msteams.z_child (tenant uuid NOT NULL, id integer NOT NULL, parent_id integer NOT NULL,
                              PRIMARY KEY (tenant, id),
                              FOREIGN KEY (tenant, parent_id) REFERENCES msteams.a_parent (tenant, id));
INSERT INTO msteams.a_parent VALUES ('00000000-0000-0000-0000-0000000000a1', 1);
INSERT INTO msteams.z_child VALUES ('00000000-0000-0000-0000-0000000000a1', 1, 1);
RESET ROLE;
SET LOCAL ROLE msteams_admin;
SELECT ok((SELECT min(p.n) FILTER (WHERE p.table_name = 'z_child') < min(p.n) FILTER (WHERE p.table_name = 'a_parent')
             FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1') WITH ORDINALITY AS p(table_name, rows, complete, n)),
          'a table referenced by a foreign key is purged after the table referencing it');
SELECT is((SELECT array_agg((p.table_name, p.rows, p.complete)::text ORDER BY p.table_name)
             FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', false) AS p
            WHERE p.table_name IN ('a_parent', 'z_child')),
          ARRAY['(a_parent,1,t)', '(z_child,1,t)'],
          'a tenant table added later is purged without any change to the function');
RESET ROLE;

-- Bad arguments, named.
SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant(NULL) $$, '22004', 'purge_tenant: tenant must not be null',
                 'a null tenant is refused');
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', NULL) $$, '22004',
                 'purge_tenant: dry_run must not be null', 'a null dry_run is refused');
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1', true, false, 0) $$, '22023',
                 'purge_tenant: batch_size 0 is out of range', 'a batch size of 0 is refused');
RESET ROLE;

-- Only the admin role may run it.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1') $$, '42501', NULL,
                 'the app role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1') $$, '42501', NULL,
                 'the reader role is denied');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.purge_tenant('00000000-0000-0000-0000-0000000000a1') $$, '42501', NULL,
                 'the runner role is denied');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
