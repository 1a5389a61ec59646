-- list_deliveries: tenant-scoped keyset pages of the delivery ledger with an opaque, validated cursor.
BEGIN;
SELECT plan(34);

SELECT has_function('msteams', 'list_deliveries', ARRAY['uuid', 'text', 'text', 'timestamp with time zone', 'integer', 'text']);
SELECT isnt_definer('msteams', 'list_deliveries', ARRAY['uuid', 'text', 'text', 'timestamp with time zone', 'integer', 'text'],
                    'list_deliveries is SECURITY INVOKER: row-level security applies');
SELECT function_privs_are('msteams', 'list_deliveries', ARRAY['uuid', 'text', 'text', 'timestamp with time zone', 'integer', 'text'],
                          'msteams_reader', ARRAY['EXECUTE'], 'readers may list deliveries');

-- Nine ledger rows of tenant a1, two of b2. Rows 3 and 4 share a created_at across the boundary of
-- the first page of three, as do rows 8 and 9 inside the last: ledger_id breaks the tie.
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at, error_code, retry_at)
SELECT '00000000-0000-0000-0000-0000000000a1', now() - make_interval(mins => CASE WHEN g IN (3, 4) THEN 3 WHEN g >= 8 THEN 30 ELSE g END),
       990000 + g, 1, s.status, s.status <> 'failed' OR g = 9, 'n-' || g,
       CASE WHEN g % 3 = 0 THEN 'escalation' ELSE 'assignment' END, 'high', 'user_activity', 'u-' || g, 'k-' || g,
       now() - interval '1 hour', CASE WHEN s.status IN ('sent', 'delivered') THEN now() - interval '59 minutes' END,
       CASE s.status WHEN 'failed' THEN 'graph_server_error' WHEN 'skipped' THEN 'user_not_mapped' END,
       CASE WHEN s.status = 'failed' AND g <> 9 THEN now() END
  FROM generate_series(1, 9) AS g
 CROSS JOIN LATERAL (SELECT (ARRAY['sent', 'failed', 'delivered', 'skipped'])[1 + g % 4] AS status) AS s;
INSERT INTO msteams.notification_deliveries
    (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category, priority,
     destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
SELECT '00000000-0000-0000-0000-0000000000b2', 991000 + g, 1, 'sent', true, 'b-' || g, 'assignment', 'low',
       'user_activity', 'u', 'kb-' || g, now(), now()
  FROM generate_series(1, 2) AS g;

CREATE TEMP TABLE pages (page integer, ord bigint, ledger_id bigint, next_cursor text);
GRANT ALL ON pages TO PUBLIC;

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

SELECT is((SELECT count(*)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1')), 9,
          'the default page (50) holds all nine rows of the tenant');
SELECT is((SELECT count(l.next_cursor)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1') AS l), 0,
          'a page with nothing after it has no next_cursor');

-- Page through three at a time; change TimeZone and DateStyle between pages on purpose.
INSERT INTO pages SELECT 1, l.ordinality, l.ledger_id, l.next_cursor
  FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 3) WITH ORDINALITY AS l;
SET LOCAL TimeZone = 'Asia/Kolkata';
SET LOCAL DateStyle = 'SQL, DMY';
INSERT INTO pages SELECT 2, l.ordinality, l.ledger_id, l.next_cursor
  FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 3,
                               p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 1 AND p.next_cursor IS NOT NULL))
       WITH ORDINALITY AS l;
SET LOCAL TimeZone = 'America/St_Johns';
INSERT INTO pages SELECT 3, l.ordinality, l.ledger_id, l.next_cursor
  FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 3,
                               p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 2 AND p.next_cursor IS NOT NULL))
       WITH ORDINALITY AS l;
SELECT results_eq($$ SELECT p.page, count(*)::int, count(p.next_cursor)::int FROM pages AS p GROUP BY p.page ORDER BY p.page $$,
                  $$ VALUES (1, 3, 1), (2, 3, 1), (3, 3, 0) $$,
                  'three full pages; a next_cursor on pages 1 and 2 only');
SELECT results_eq($$ SELECT p.ord FROM pages AS p WHERE p.next_cursor IS NOT NULL ORDER BY p.page $$,
                  $$ VALUES (3::bigint), (3::bigint) $$, 'next_cursor is on the last row of its page');
SELECT results_eq($$ SELECT p.ledger_id FROM pages AS p ORDER BY p.page, p.ord $$,
                  $$ SELECT d.ledger_id FROM msteams.notification_deliveries AS d
                      WHERE d.tenant = '00000000-0000-0000-0000-0000000000a1'
                      ORDER BY d.created_at DESC, d.ledger_id DESC $$,
                  'the pages together are every row exactly once, newest first, no duplicates or gaps');
SELECT is((SELECT count(*)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 9)), 9,
          'a limit equal to the rows left gives the rows without a next page');
SELECT is((SELECT count(l.next_cursor)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 9) AS l), 0,
          '... and no next_cursor');
RESET TimeZone;
RESET DateStyle;

-- Filters.
SELECT set_eq($$ SELECT l.delivery_id FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_status => 'failed') AS l $$,
              $$ VALUES (990001::bigint), (990005::bigint), (990009::bigint) $$, 'status filters the rows');
SELECT set_eq($$ SELECT l.delivery_id FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_category => 'escalation') AS l $$,
              $$ VALUES (990003::bigint), (990006::bigint), (990009::bigint) $$, 'category filters the rows');
SELECT set_eq($$ SELECT l.delivery_id FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1',
                                                                   p_since => now() - interval '3 minutes') AS l $$,
              $$ VALUES (990001::bigint), (990002::bigint), (990003::bigint), (990004::bigint) $$, 'since keeps rows created at or after it');
SELECT results_eq($$ SELECT l.status, l.final, l.error_code, l.retry_at IS NOT NULL
                       FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_status => 'failed') AS l $$,
                  $$ VALUES ('failed', false, 'graph_server_error', true), ('failed', false, 'graph_server_error', true),
                            ('failed', true, 'graph_server_error', false) $$,
                  'rows carry status, final, error_code and retry_at, newest first');

-- Paging under a filter: the cursor carries on within the filter.
INSERT INTO pages SELECT 10, l.ordinality, l.ledger_id, l.next_cursor
  FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_status => 'failed', p_limit => 2) WITH ORDINALITY AS l;
SELECT set_eq($$ SELECT l.delivery_id FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_status => 'failed',
                     p_limit => 2, p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 10 AND p.next_cursor IS NOT NULL)) AS l $$,
              $$ VALUES (990009::bigint) $$, 'the second page of a filtered list holds the rest of the filter');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 2,
                     p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 10 AND p.next_cursor IS NOT NULL)) $$,
                 '22023', 'list_deliveries: cursor was made for another tenant or other filters',
                 'a cursor is bound to its filters: used without them it is refused');

-- Bad input.
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_cursor => 'garbage!') $$,
                 '22023', 'list_deliveries: cursor is not valid', 'a garbage cursor is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1',
                     p_cursor => translate(encode(convert_to('v1|deliveries|0123456789abcdef|x|1', 'UTF8'), 'base64'), '+/=', '-_')) $$,
                 '22023', 'list_deliveries: cursor is not valid', 'a well-encoded cursor with a bad position is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_cursor => '') $$,
                 '22023', NULL, 'an empty cursor is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_cursor => '_w') $$,
                 '22023', NULL, 'a cursor that is not UTF-8 once decoded is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1',
                     p_cursor => msteams._keyset_cursor_encode('audit_events',
                                   jsonb_build_array('00000000-0000-0000-0000-0000000000a1'::uuid, NULL, NULL, NULL)::text, now(), 1)) $$,
                 '22023', NULL, 'a cursor made by another list is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 500) $$,
                 '22023', 'list_deliveries: limit 500 is out of range', 'limit 500 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 0) $$,
                 '22023', NULL, 'limit 0 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => NULL) $$,
                 '22004', NULL, 'a null limit is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_status => 'pending') $$,
                 '22023', 'list_deliveries: status ''pending'' is not known', 'an unknown status is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_category => 'gossip') $$,
                 '22023', 'list_deliveries: category ''gossip'' is not known', 'an unknown category is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries(NULL) $$, '22004', NULL, 'a null tenant is refused');

-- Tenancy.
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000b2') $$,
                 '42501', 'list_deliveries: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'a reader asking for another tenant is refused, not answered with an empty list');
SET LOCAL msteams.tenant = '';
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', NULL, 'a reader without msteams.tenant is refused');
RESET ROLE;

SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT is((SELECT count(*)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000b2')), 2,
          'the app role lists its own tenant');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SET LOCAL msteams.tenant = '';
SELECT is((SELECT count(*)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000b2')), 2,
          'an admin lists any tenant without msteams.tenant');
SELECT is((SELECT count(*)::int FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1', p_limit => 200)), 9,
          'an admin sees only the tenant asked for');
SELECT is((SELECT array_agg(DISTINCT l.destination_id) FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000b2') AS l),
          ARRAY['u'], 'the admin gets that tenant''s rows');
RESET ROLE;

SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.list_deliveries('00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', NULL, 'the runner role cannot list deliveries');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
