-- upsert_conversation_reference: insert, refresh, revive; validation that never echoes a URL.
BEGIN;
SELECT plan(33);

CREATE FUNCTION pg_temp.error_text(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_message text; v_detail text; v_hint text; v_column text;
BEGIN
    EXECUTE p_sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT,
                            v_column = COLUMN_NAME;
    RETURN concat_ws(' | ', v_column, v_message, v_detail, v_hint);
END $$;

SELECT has_function('msteams', 'upsert_conversation_reference',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamp with time zone']);
SELECT is_definer('msteams', 'upsert_conversation_reference',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamp with time zone']);
SELECT function_privs_are('msteams', 'upsert_conversation_reference',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamp with time zone'],
    'msteams_app', ARRAY['EXECUTE'], 'the app role captures conversation references');

SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

SELECT is(msteams.upsert_conversation_reference(
              p_tenant => '00000000-0000-0000-0000-0000000000a1', p_microsoft_user_id => 'aad-1',
              p_conversation_id => 'a:personal-1', p_service_url => 'https://smba.trafficmanager.net/amer/',
              p_conversation_type => 'personal', p_aad_tenant_id => '72f988bf-86f1-41af-91ab-2d7cd011db47',
              p_bot_id => '28:bot', p_user_teams_id => '29:user', p_locale => 'en-US', p_activity_id => 'act-1',
              p_activity_at => '2025-01-10 10:00+00'),
          'inserted', 'a first activity inserts the reference');
SELECT results_eq(
    $$ SELECT r.service_url, r.conversation_type, r.aad_tenant_id, r.bot_id, r.user_teams_id, r.locale, r.activity_id,
              r.channel_id, r.status, r.first_seen_at, r.last_activity_at
         FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:personal-1' $$,
    $$ VALUES ('https://smba.trafficmanager.net/amer/', 'personal', '72f988bf-86f1-41af-91ab-2d7cd011db47', '28:bot',
               '29:user', 'en-US', 'act-1', 'msteams', 'active', '2025-01-10 10:00+00'::timestamptz,
               '2025-01-10 10:00+00'::timestamptz) $$,
    'every field is stored, channel msteams by default');

SELECT is(msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'a:personal-1',
              'https://smba.trafficmanager.net/emea/', 'personal', p_activity_id => 'act-2',
              p_activity_at => '2025-01-11 10:00+00'),
          'refreshed', 'a later activity refreshes the reference');
SELECT results_eq(
    $$ SELECT r.service_url, r.locale, r.activity_id, r.last_activity_at, r.first_seen_at
         FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:personal-1' $$,
    $$ VALUES ('https://smba.trafficmanager.net/emea/', 'en-US', 'act-2', '2025-01-11 10:00+00'::timestamptz,
               '2025-01-10 10:00+00'::timestamptz) $$,
    'the service URL moves; fields the activity did not carry are kept');
SELECT is(msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'a:personal-1',
              'https://smba.trafficmanager.net/apac/', 'personal', p_activity_at => '2025-01-10 12:00+00'),
          'unchanged', 'an activity older than the stored one (handled out of order) changes nothing');
SELECT is((SELECT r.service_url FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:personal-1'),
          'https://smba.trafficmanager.net/emea/', 'the newer service URL stays');

-- Stale, then revived by the next activity.
RESET ROLE;
UPDATE msteams.conversation_references AS r
   SET status = 'stale', stale_reason = 'bot_removed', stale_at = '2025-01-12 10:00+00'
 WHERE r.conversation_id = 'a:personal-1';
SET LOCAL ROLE msteams_app;
SELECT is(msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'a:personal-1',
              'https://smba.trafficmanager.net/emea/', 'personal', p_activity_at => '2025-01-11 11:00+00'),
          'refreshed', 'an activity from before the removal does not revive the reference');
SELECT is((SELECT r.status FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:personal-1'),
          'stale', 'it stays stale');
SELECT is(msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'a:personal-1',
              'https://smba.trafficmanager.net/emea/', 'personal', p_activity_at => '2025-01-13 10:00+00'),
          'revived', 'an activity after the removal revives the reference');
SELECT results_eq(
    $$ SELECT r.status, r.stale_at, r.stale_reason FROM msteams.conversation_references AS r
        WHERE r.conversation_id = 'a:personal-1' $$,
    $$ VALUES ('active', NULL::timestamptz, NULL::text) $$, 'revived: active, stale_at and stale_reason cleared');
SELECT is(msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-2', 'a:personal-1',
              'https://smba.trafficmanager.net/emea/', 'personal'),
          'inserted', 'another user in the same conversation is another reference (activity_at defaults to now())');
SELECT lives_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1',
                   '19:abc@thread.tacv2', 'https://127.0.0.1:8443/connector', 'channel', p_channel_id => 'msteams') $$,
                'an IP host with a port is a valid service URL (the sandbox)');

-- Validation.
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference(NULL, 'aad-1', 'c', 'https://x.example/', 'personal') $$,
                 '22004', 'upsert_conversation_reference: tenant must not be null', 'a null tenant is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000b2', 'aad-1', 'c',
                   'https://x.example/', 'personal') $$,
                 '42501', NULL, 'another tenant than msteams.tenant is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', NULL, 'c',
                   'https://x.example/', 'personal') $$,
                 '22004', 'upsert_conversation_reference: microsoft_user_id must not be null', 'a null user id is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', '',
                   'https://x.example/', 'personal') $$,
                 '22023', 'upsert_conversation_reference: conversation_id must not be blank', 'a blank conversation id is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   NULL, 'personal') $$,
                 '22004', NULL, 'a null service URL is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'http://smba.trafficmanager.net/amer/', 'personal') $$,
                 '22023', 'upsert_conversation_reference: service_url is not an https URL with a host and no credentials, query or fragment',
                 'a plain http service URL is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https:///amer/', 'personal') $$, '22023', NULL, 'a service URL without a host is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://smba.trafficmanager.net/amer/?code=1', 'personal') $$, '22023', NULL,
                 'a service URL with a query is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://admin:s3cret-pw@evil.example/amer/', 'personal') $$, '22023', NULL,
                 'a service URL with credentials is refused');
SELECT unalike(pg_temp.error_text($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1',
                   'aad-1', 'c', 'https://admin:s3cret-pw@evil.example/amer/', 'personal') $$),
               '%s3cret-pw%', 'the error (message, detail, hint) never echoes the URL or its credentials');
SELECT matches(pg_temp.error_text($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1',
                   'aad-1', 'c', 'https://admin:s3cret-pw@evil.example/amer/', 'personal') $$),
               '^service_url \| ', 'the error names the service_url field');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'meeting') $$,
                 '22023', 'upsert_conversation_reference: conversation_type ''meeting'' is not known',
                 'an unknown conversation type is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'personal', p_aad_tenant_id => 'contoso') $$, '22023', NULL,
                 'an AAD tenant id that is not a GUID is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'personal', p_activity_at => NULL) $$, '22004', NULL,
                 'a null activity time is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/' || repeat('p', 1024), 'personal') $$, '22023', NULL,
                 'a service URL over 1024 characters is refused');
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'personal', p_locale => repeat('l', 101)) $$, '22023', NULL,
                 'a locale over 100 characters is refused');
RESET ROLE;

SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'personal') $$, '42501', NULL, 'the runner role cannot write references');
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.upsert_conversation_reference('00000000-0000-0000-0000-0000000000a1', 'aad-1', 'c',
                   'https://x.example/', 'personal') $$, '42501', NULL, 'the reader role cannot write references');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
