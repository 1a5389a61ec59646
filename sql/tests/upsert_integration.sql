-- upsert_integration: a tenant's Teams settings; a credential is a reference, never a secret.
BEGIN;
SELECT plan(35);

SELECT is_definer('msteams', 'upsert_integration', ARRAY['uuid', 'text', 'boolean', 'text', 'text', 'text', 'text', 'text', 'text']);
SELECT function_privs_are('msteams', 'upsert_integration', ARRAY['uuid', 'text', 'boolean', 'text', 'text', 'text', 'text', 'text', 'text'],
                          'msteams_app', ARRAY['EXECUTE'], 'the app role may configure its integrations');

-- Every text an error shows a client (SQLSTATE, message, detail, hint), for "never echoed" checks.
CREATE FUNCTION pg_temp.error_text(p_sql text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    v_state text; v_message text; v_detail text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN concat_ws(' | ', v_state, v_message, v_detail, v_hint);
END
$fn$;

SET LOCAL ROLE msteams_app;
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6',
    p_aad_tenant_id => '6F6F6F6F-AAAA-BBBB-CCCC-DDDDEEEEFFFF', p_client_id => 'app-f6', p_credential_ref => 'env:SECRET_F6',
    p_bot_app_id => 'bot-f6', p_bot_credential_ref => 'cert:/etc/pgteams/bot-f6.pem#0123456789abcdef0123456789ABCDEF01234567',
    p_teams_app_id => 'teams-app-f6') $$, 'a new tenant''s integration is created');
RESET ROLE;
SELECT is((SELECT row(i.install_status, i.addon_active, i.aad_tenant_id, i.client_id, i.credential_ref, i.bot_app_id,
                      i.bot_credential_ref, i.teams_app_id)::text
             FROM msteams.integrations AS i WHERE i.tenant = '00000000-0000-0000-0000-0000000000f6'),
          '(active,t,6f6f6f6f-aaaa-bbbb-cccc-ddddeeeeffff,app-f6,env:SECRET_F6,bot-f6,cert:/etc/pgteams/bot-f6.pem#0123456789abcdef0123456789ABCDEF01234567,teams-app-f6)',
          'every setting is stored (defaults active with the add-on; the Entra tenant id in lower case)');

-- An enqueue for it is queued now.
SET LOCAL ROLE msteams_app;
SELECT is((SELECT e.status FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000f6', 'assignment', 'high',
           'user_activity', 'u@f6.example', '{"topic": {"source": "entityUrl", "value": "https://graph.microsoft.com/v1.0/x"}, "activityType": "t", "previewText": {"content": "c"}}',
           'f6-1') AS e), 'queued', 'the configured tenant''s notifications are queued');

-- Update: every field is replaced.
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', 'suspended', false,
    NULL, 'app-f6b', 'file:/run/secrets/f6') $$, 'an existing integration is updated');
RESET ROLE;
SELECT is((SELECT row(i.install_status, i.addon_active, i.aad_tenant_id, i.client_id, i.credential_ref, i.bot_app_id,
                      i.bot_credential_ref, i.teams_app_id)::text
             FROM msteams.integrations AS i WHERE i.tenant = '00000000-0000-0000-0000-0000000000f6'),
          '(suspended,f,,app-f6b,file:/run/secrets/f6,,,)', 'an update replaces every setting, also with NULL');
SELECT is((SELECT count(*)::int FROM msteams.integrations AS i WHERE i.tenant = '00000000-0000-0000-0000-0000000000f6'), 1,
          'still one row per tenant');
SET LOCAL ROLE msteams_app;
SELECT is((SELECT row(e.status, e.error_code)::text FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000f6',
           'assignment', 'high', 'user_activity', 'u@f6.example',
           '{"topic": {"source": "entityUrl", "value": "https://graph.microsoft.com/v1.0/x"}, "activityType": "t", "previewText": {"content": "c"}}',
           'f6-2') AS e), '(skipped,integration_inactive)', 'a suspended integration skips new notifications');

-- Validation.
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', 'installed') $$,
    '22023', 'upsert_integration: install_status ''installed'' is not known', 'an unknown status is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', NULL) $$,
    '22004', NULL, 'a null status is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', 'active', NULL) $$,
    '22004', 'upsert_integration: addon_active must not be null', 'a null add-on flag is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_aad_tenant_id => 'contoso.onmicrosoft.com') $$,
    '22023', 'upsert_integration: aad_tenant_id is not a GUID', 'an Entra tenant id that is not a GUID is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_aad_tenant_id => '6f6f6f6f-aaaa-bbbb-cccc-ddddeeeefff') $$,
    '22023', 'upsert_integration: aad_tenant_id is not a GUID', 'a GUID one digit short is refused');
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'env:_A1') $$,
    'env:NAME is a reference');
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'file:/var/run/secrets/teams.json') $$,
    'file:/absolute/path is a reference');
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'cert:/keys/f6.pem#ABCDEF0123456789ABCDEF0123456789ABCDEF01') $$,
    'cert:/path#<40 hex> is a reference');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'cert:/keys/f6.pem') $$,
    '22023', 'upsert_integration: credential_ref is not a credential reference (value not shown)', 'a cert: reference without a thumbprint is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'cert:/keys/f6.pem#ABCDEF') $$,
    '22023', NULL, 'a cert: thumbprint that is not 40 hex digits is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'file:relative/path') $$,
    '22023', NULL, 'a relative file: path is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'env:9LIVES') $$,
    '22023', NULL, 'an env: name starting with a digit is refused');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => 'Qx8Q~RAWsecretVALUE.abc_123-XYZ') $$,
    '22023', 'upsert_integration: credential_ref is not a credential reference (value not shown)',
    'a value that looks like a raw client secret is refused');
SELECT is(position('RAWsecretVALUE' IN pg_temp.error_text($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6',
    p_credential_ref => 'Qx8Q~RAWsecretVALUE.abc_123-XYZ') $$)), 0, '… and no part of the error shows it');
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_bot_credential_ref => 'Qx8Q~BOTsecretVALUE') $$,
    '22023', 'upsert_integration: bot_credential_ref is not a credential reference (value not shown)',
    'a raw bot secret is refused too');
SELECT is(position('BOTsecretVALUE' IN pg_temp.error_text($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6',
    p_bot_credential_ref => 'Qx8Q~BOTsecretVALUE') $$)), 0, '… without showing it');
SELECT throws_ok(format($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_client_id => %L) $$, repeat('c', 513)),
    '22023', 'upsert_integration: client_id is longer than 512 characters', 'an app id over 512 characters is refused');
-- The table allows at most 512 characters of a reference; the function must refuse a longer one
-- itself (22023, naming the field), not let the table's CHECK fail with 23514 and a DETAIL that
-- prints the whole row.
SELECT throws_ok(format($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_credential_ref => %L) $$,
    'file:/' || repeat('p', 600)), '22023', NULL, 'a credential reference over 512 characters is refused with 22023');
SELECT throws_ok(format($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', p_bot_credential_ref => %L) $$,
    'env:' || repeat('P', 600)), '22023', NULL, 'a bot credential reference over 512 characters is refused with 22023');
SELECT throws_ok($$ SELECT msteams.upsert_integration(NULL) $$, '22004', 'upsert_integration: tenant must not be null',
    'a null tenant is refused');
RESET ROLE;
SELECT is((SELECT row(i.install_status, i.credential_ref)::text FROM msteams.integrations AS i
            WHERE i.tenant = '00000000-0000-0000-0000-0000000000f6'),
          '(active,cert:/keys/f6.pem#ABCDEF0123456789ABCDEF0123456789ABCDEF01)', 'refused calls changed nothing');

-- Tenant context and roles.
SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6', 'inactive') $$,
    '42501', 'upsert_integration: tenant 00000000-0000-0000-0000-0000000000f6 does not match msteams.tenant',
    'msteams.tenant set to another tenant: refused');
SELECT lives_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000a1', 'inactive') $$,
    'msteams.tenant set to the same tenant: allowed');
RESET msteams.tenant;
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6') $$, '42501', NULL,
    'the reader role cannot configure an integration');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6') $$, '42501', NULL,
    'the runner role cannot configure an integration');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.upsert_integration('00000000-0000-0000-0000-0000000000f6') $$, '42501', NULL,
    'the admin role cannot configure an integration');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
