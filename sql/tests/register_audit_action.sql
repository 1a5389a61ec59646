-- register_audit_action: hosts extend the audit action registry; idempotent, never renames.
BEGIN;
SELECT plan(15);

SELECT has_function('msteams', 'register_audit_action', ARRAY['text', 'text', 'boolean']);
SELECT is_definer('msteams', 'register_audit_action', ARRAY['text', 'text', 'boolean']);
SELECT function_privs_are('msteams', 'register_audit_action', ARRAY['text', 'text', 'boolean'],
                          'msteams_admin', ARRAY['EXECUTE'], 'the admin role registers audit actions');

SET LOCAL ROLE msteams_admin;
SELECT is(msteams.register_audit_action('merge_tickets', 'Merge two tickets'), 'inserted', 'a new action is inserted');
SELECT is((SELECT row(a.description, a.is_card_action)::text FROM msteams.audit_actions AS a WHERE a.action_id = 'merge_tickets'),
          row('Merge two tickets', false)::text, 'with its description, not a card action by default');
SELECT is(msteams.register_audit_action('merge_tickets', 'Merge two tickets'), 'unchanged', 'registering it again changes nothing');
SELECT is(msteams.register_audit_action('merge_tickets', 'Merge two tickets into one'), 'updated', 'a new description is an update');
SELECT is(msteams.register_audit_action('merge_tickets', 'Merge two tickets into one', true), 'unchanged',
          'is_card_action of a registered action is not changed (never repurposed)');
SELECT is((SELECT row(a.description, a.is_card_action)::text FROM msteams.audit_actions AS a WHERE a.action_id = 'merge_tickets'),
          row('Merge two tickets into one', false)::text, 'the registry holds the latest description and the first flag');
SELECT is(msteams.register_audit_action('snooze', 'Card action: snooze a notification', p_is_card_action => true), 'inserted',
          'a card action is registered with the flag');

SELECT throws_ok($$ SELECT msteams.register_audit_action(NULL, 'x') $$, '22004',
                 'register_audit_action: action_id must not be null', 'a null action id is refused');
SELECT throws_ok($$ SELECT msteams.register_audit_action('Merge Tickets', 'x') $$, '22023',
                 'register_audit_action: action_id is not a valid identifier', 'an action id that is not snake_case is refused');
SELECT throws_ok($$ SELECT msteams.register_audit_action('merge', ' ') $$, '22023', NULL, 'a blank description is refused');
RESET ROLE;

SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.register_audit_action('app_action', 'x') $$, '42501', NULL,
                 'the app role cannot register actions');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.register_audit_action('reader_action', 'x') $$, '42501', NULL,
                 'the reader role cannot register actions');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
