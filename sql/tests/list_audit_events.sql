-- list_audit_events: tenant-scoped keyset pages of the audit ledger with an opaque, validated cursor.
BEGIN;
SELECT plan(27);

SELECT has_function('msteams', 'list_audit_events',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'integer', 'text']);
SELECT isnt_definer('msteams', 'list_audit_events',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'integer', 'text'],
    'list_audit_events is SECURITY INVOKER: row-level security applies');
SELECT function_privs_are('msteams', 'list_audit_events',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'integer', 'text'],
    'msteams_reader', ARRAY['EXECUTE'], 'readers may list audit events');

-- Seven events of tenant a1 (events 2 and 3 share a created_at), one of b2.
INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id, result_status, error_code, payload_hash)
SELECT '00000000-0000-0000-0000-0000000000a1', now() - make_interval(mins => CASE WHEN g = 3 THEN 2 ELSE g END),
       (ARRAY['bot', 'tab', 'message_extension'])[1 + g % 3], CASE WHEN g <= 3 THEN 'add_note' ELSE 'assign_ticket' END,
       'actor-' || (g % 2), CASE WHEN g = 7 THEN 'failure' ELSE 'success' END, CASE WHEN g = 7 THEN 'ticket_locked' END,
       msteams.payload_hash(jsonb_build_object('g', g))
  FROM generate_series(1, 7) AS g;
INSERT INTO msteams.audit_events (tenant, surface, action_id, actor_user_id, result_status, payload_hash)
VALUES ('00000000-0000-0000-0000-0000000000b2', 'bot', 'add_note', 'actor-b', 'success', msteams.payload_hash('{}'));

CREATE TEMP TABLE pages (page integer, ord bigint, audit_id bigint, next_cursor text);
GRANT ALL ON pages TO PUBLIC;

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1')), 7,
          'the default page holds all seven events of the tenant');
SELECT results_eq(
    $$ SELECT l.tenant, l.action_id, l.actor_user_id, l.result_status, l.error_code, l.payload_hash
         FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_result_status => 'failure') AS l $$,
    $$ VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid, 'assign_ticket', 'actor-1', 'failure', 'ticket_locked',
               msteams.payload_hash('{"g": 7}')) $$,
    'every audit_events column comes back, payload_hash included');

-- Page through two at a time.
INSERT INTO pages SELECT 1, l.ordinality, l.audit_id, l.next_cursor
  FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_limit => 2) WITH ORDINALITY AS l;
INSERT INTO pages SELECT 2, l.ordinality, l.audit_id, l.next_cursor
  FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_limit => 2,
       p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 1 AND p.next_cursor IS NOT NULL)) WITH ORDINALITY AS l;
INSERT INTO pages SELECT 3, l.ordinality, l.audit_id, l.next_cursor
  FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_limit => 2,
       p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 2 AND p.next_cursor IS NOT NULL)) WITH ORDINALITY AS l;
INSERT INTO pages SELECT 4, l.ordinality, l.audit_id, l.next_cursor
  FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_limit => 2,
       p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 3 AND p.next_cursor IS NOT NULL)) WITH ORDINALITY AS l;
SELECT results_eq($$ SELECT p.page, count(*)::int, count(p.next_cursor)::int FROM pages AS p GROUP BY p.page ORDER BY p.page $$,
                  $$ VALUES (1, 2, 1), (2, 2, 1), (3, 2, 1), (4, 1, 0) $$, 'pages of 2, 2, 2, 1; no cursor after the last');
SELECT results_eq($$ SELECT p.audit_id FROM pages AS p ORDER BY p.page, p.ord $$,
                  $$ SELECT e.audit_id FROM msteams.audit_events AS e ORDER BY e.created_at DESC, e.audit_id DESC $$,
                  'the pages together are every event exactly once, newest first');

-- Filters.
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_surface => 'tab')), 3,
          'surface filters');
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_action_id => 'add_note')), 3,
          'action_id filters');
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_actor_user_id => 'actor-0')), 3,
          'actor filters');
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_result_status => 'success')), 6,
          'result_status filters');
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1',
                                                               p_since => now() - interval '2 minutes')), 3,
          'since keeps events at or after it');
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_action_id => 'add_note',
                                                               p_actor_user_id => 'actor-1', p_surface => 'tab')), 1,
          'filters combine');

-- Bad input.
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_cursor => 'garbage!') $$,
                 '22023', 'list_audit_events: cursor is not valid', 'a garbage cursor is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_surface => 'tab',
                     p_cursor => (SELECT p.next_cursor FROM pages AS p WHERE p.page = 1 AND p.next_cursor IS NOT NULL)) $$,
                 '22023', 'list_audit_events: cursor was made for another tenant or other filters',
                 'a cursor used under other filters is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1',
                     p_cursor => msteams._keyset_cursor_encode('deliveries',
                         jsonb_build_array('00000000-0000-0000-0000-0000000000a1'::uuid, NULL, NULL, NULL, NULL, NULL)::text, now(), 1)) $$,
                 '22023', 'list_audit_events: cursor is not valid', 'a cursor made by list_deliveries is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_limit => 201) $$,
                 '22023', 'list_audit_events: limit 201 is out of range', 'limit 201 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_surface => 'email') $$,
                 '22023', NULL, 'an unknown surface is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_action_id => 'merge_tickets') $$,
                 '22023', 'list_audit_events: action_id ''merge_tickets'' is not registered', 'an unregistered action is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_result_status => 'partial') $$,
                 '22023', NULL, 'an unknown result_status is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1', p_actor_user_id => '') $$,
                 '22023', NULL, 'a blank actor is refused');

-- Tenancy.
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events(NULL) $$, '22004', 'list_audit_events: tenant must not be null',
                 'a null tenant is refused');
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000b2') $$,
                 '42501', 'list_audit_events: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'a reader asking for another tenant is refused');
SET LOCAL msteams.tenant = '';
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', NULL, 'a reader without msteams.tenant is refused');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT is((SELECT array_agg(l.actor_user_id) FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000b2') AS l),
          ARRAY['actor-b'], 'an admin lists any tenant');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT is((SELECT count(*)::int FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000b2')), 1,
          'the app role lists its own tenant');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.list_audit_events('00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', NULL, 'the runner role cannot list audit events');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
