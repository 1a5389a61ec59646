-- register_category: hosts extend the category registry; idempotent, never renames.
BEGIN;
SELECT plan(16);

SELECT has_function('msteams', 'register_category', ARRAY['text', 'text', 'smallint', 'interval']);
SELECT is_definer('msteams', 'register_category', ARRAY['text', 'text', 'smallint', 'interval']);
SELECT function_privs_are('msteams', 'register_category', ARRAY['text', 'text', 'smallint', 'interval'],
                          'msteams_admin', ARRAY['EXECUTE'], 'the admin role registers categories');

SET LOCAL ROLE msteams_admin;
SELECT is(msteams.register_category('contract_renewal', 'A contract is up for renewal'), 'inserted', 'a new category is inserted');
SELECT is((SELECT row(c.description, c.max_attempts, c.default_ttl)::text FROM msteams.categories AS c
            WHERE c.category = 'contract_renewal'),
          row('A contract is up for renewal', 6, NULL::interval)::text, 'with the default retry budget and no expiry');
SELECT is(msteams.register_category('security_alert', 'A security alert', p_max_attempts => 10::smallint,
                                    p_default_ttl => interval '2 hours'), 'inserted', 'a category with its own budget and expiry');
SELECT is((SELECT row(c.max_attempts, c.default_ttl)::text FROM msteams.categories AS c WHERE c.category = 'security_alert'),
          row(10, interval '2 hours')::text, 'its budget and expiry are stored');
SELECT is(msteams.register_category('contract_renewal', 'A contract is up for renewal'), 'unchanged', 'registering it again changes nothing');
SELECT is(msteams.register_category('escalation', 'Something was escalated to you'), 'updated',
          'a seeded category takes a new description');
SELECT is((SELECT row(c.max_attempts, c.default_ttl)::text FROM msteams.categories AS c WHERE c.category = 'escalation'),
          row(8, interval '1 day')::text, 'and keeps its own budget and expiry (the default 6 does not overwrite 8)');

SELECT throws_ok($$ SELECT msteams.register_category(NULL, 'x') $$, '22004',
                 'register_category: category must not be null', 'a null category is refused');
SELECT throws_ok($$ SELECT msteams.register_category('Bad-Name', 'x') $$, '22023', NULL, 'a category that is not snake_case is refused');
SELECT throws_ok($$ SELECT msteams.register_category('c1', 'x', 0::smallint) $$, '22023',
                 'register_category: max_attempts 0 is out of range', 'max_attempts 0 is refused');
SELECT throws_ok($$ SELECT msteams.register_category('c1', 'x', 6::smallint, interval '-1 hour') $$, '22023', NULL,
                 'a negative default_ttl is refused');
SELECT throws_ok($$ SELECT msteams.register_category('c1', NULL) $$, '22004', NULL, 'a null description is refused');
RESET ROLE;

SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.register_category('app_category', 'x') $$, '42501', NULL,
                 'the app role cannot register categories');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
