-- assert_tenant: the shared tenant checks of write functions (_assert_tenant) and read
-- functions (_assert_read_tenant).
BEGIN;
SELECT plan(17);

SELECT has_function('msteams', '_assert_tenant', ARRAY['text', 'uuid']);
SELECT has_function('msteams', '_assert_read_tenant', ARRAY['text', 'uuid']);
SELECT isnt_definer('msteams', '_assert_read_tenant', ARRAY['text', 'uuid'],
                    'the read check runs as the caller, so it sees the caller''s roles');
SELECT ok(NOT has_function_privilege('msteams_app', 'msteams._assert_tenant(text, uuid)', 'EXECUTE'),
          'the write check is private: only definer functions (msteams_owner) call it');
SELECT ok(has_function_privilege('msteams_reader', 'msteams._assert_read_tenant(text, uuid)', 'EXECUTE'),
          'readers may execute the read check (the read functions are SECURITY INVOKER)');

-- Writes: the helper runs inside definer functions; called here directly by the test superuser.
SELECT lives_ok($$ SELECT msteams._assert_tenant('some_fn', '00000000-0000-0000-0000-0000000000a1') $$,
                'a write without msteams.tenant set is allowed');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT lives_ok($$ SELECT msteams._assert_tenant('some_fn', '00000000-0000-0000-0000-0000000000a1') $$,
                'a write for the tenant in msteams.tenant is allowed');
SELECT throws_ok($$ SELECT msteams._assert_tenant('some_fn', '00000000-0000-0000-0000-0000000000b2') $$,
                 '42501', 'some_fn: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'a write for another tenant is refused, naming the calling function');
SELECT throws_ok($$ SELECT msteams._assert_tenant('some_fn', NULL) $$,
                 '22004', 'some_fn: tenant must not be null', 'a null tenant is refused');
SET LOCAL msteams.tenant = '';
SELECT lives_ok($$ SELECT msteams._assert_tenant('some_fn', '00000000-0000-0000-0000-0000000000b2') $$,
                'an empty msteams.tenant counts as unset');

-- Reads, as the real roles.
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', 'list_x: tenant 00000000-0000-0000-0000-0000000000a1 does not match msteams.tenant (not set)',
                 'a reader without msteams.tenant is refused');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT lives_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000a1') $$,
                'a reader may read the tenant in msteams.tenant');
SELECT throws_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000b2') $$,
                 '42501', NULL, 'a reader may not read another tenant');
SELECT throws_ok($$ SELECT msteams._assert_read_tenant('list_x', NULL) $$, '22004', NULL,
                 'a null tenant is refused for reads too');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000b2') $$,
                 '42501', NULL, 'the app role (a reader) may not read another tenant');
RESET ROLE;
SET LOCAL ROLE msteams_admin;
SET LOCAL msteams.tenant = '';
SELECT lives_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000b2') $$,
                'an admin reads any tenant without msteams.tenant');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams._assert_read_tenant('list_x', '00000000-0000-0000-0000-0000000000a1') $$,
                 '42501', NULL, 'the runner cannot call the read check at all');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
