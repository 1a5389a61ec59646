-- set_webhook / delete_webhook: a Workflows webhook URL is a secret stored once under a name.
BEGIN;
SELECT plan(32);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'set_webhook', ARRAY['uuid', 'text', 'text']);
SELECT is_definer('msteams', 'delete_webhook', ARRAY['uuid', 'text']);

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
SELECT lives_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room',
    'https://prod-02.westeurope.logic.azure.com:443/workflows/aa/triggers/manual/paths/invoke?api-version=1&sig=FIRSTSIG') $$,
    'set_webhook stores a webhook');
RESET ROLE;
SELECT is((SELECT w.url FROM msteams.webhooks AS w WHERE w.tenant = '00000000-0000-0000-0000-0000000000b2' AND w.webhook_name = 'ops-room'),
          'https://prod-02.westeurope.logic.azure.com:443/workflows/aa/triggers/manual/paths/invoke?api-version=1&sig=FIRSTSIG',
          'the URL is stored as given');

-- Replace.
SET LOCAL ROLE msteams_app;
SELECT lives_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room',
    'https://prod-02.westeurope.logic.azure.com:443/workflows/bb/triggers/manual/paths/invoke?api-version=1&sig=SECONDSIG') $$,
    'set_webhook under an existing name');
RESET ROLE;
SELECT results_eq($$ SELECT w.url FROM msteams.webhooks AS w WHERE w.tenant = '00000000-0000-0000-0000-0000000000b2' $$,
    $$ VALUES ('https://prod-02.westeurope.logic.azure.com:443/workflows/bb/triggers/manual/paths/invoke?api-version=1&sig=SECONDSIG') $$,
    'the name now holds the new URL, and only it');

-- Refused URLs: 22023, and the URL (with its signature) appears nowhere in the error.
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room',
    'http://prod-02.westeurope.logic.azure.com/workflows/cc?sig=PLAINTEXTSIG') $$, '22023',
    'set_webhook: url is not an https URL with a host and a path (value not shown: it is a secret)',
    'an http:// URL is refused');
SELECT is(position('PLAINTEXTSIG' IN pg_temp.error_text($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2',
    'ops-room', 'http://prod-02.westeurope.logic.azure.com/workflows/cc?sig=PLAINTEXTSIG') $$)), 0,
    'no part of the error (message, detail, hint) shows the refused URL''s signature');
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room',
    'https://user:USERPASSWORD@prod-02.westeurope.logic.azure.com/workflows/cc') $$, '22023', NULL,
    'a URL with user:password@ is refused');
SELECT is(position('USERPASSWORD' IN pg_temp.error_text($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2',
    'ops-room', 'https://user:USERPASSWORD@prod-02.westeurope.logic.azure.com/workflows/cc') $$)), 0,
    '… without showing it');
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room',
    'https://prod-02.westeurope.logic.azure.com') $$, '22023', NULL, 'a URL without a path is refused');
SELECT throws_ok(format($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room', %L) $$,
    'https://prod-02.westeurope.logic.azure.com/' || repeat('x', 2048) || '?sig=LONGSIG'), '22023', NULL,
    'a URL over 2048 characters is refused');
SELECT is(position('LONGSIG' IN pg_temp.error_text(format($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2',
    'ops-room', %L) $$, 'https://prod-02.westeurope.logic.azure.com/' || repeat('x', 2048) || '?sig=LONGSIG'))), 0,
    '… without showing it');
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room', NULL) $$,
    '22004', 'set_webhook: url must not be null', 'a null URL is refused');
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'ops room!',
    'https://prod-02.westeurope.logic.azure.com/workflows/dd?sig=X') $$,
    '22023', 'set_webhook: webhook_name is not a valid name', 'a name with spaces is refused');
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', NULL,
    'https://prod-02.westeurope.logic.azure.com/workflows/dd?sig=X') $$,
    '22004', 'set_webhook: webhook_name is not a valid name', 'a null name is refused');
SELECT throws_ok($$ SELECT msteams.set_webhook(NULL, 'ops-room', 'https://prod-02.westeurope.logic.azure.com/workflows/dd?sig=X') $$,
    '22004', 'set_webhook: tenant must not be null', 'a null tenant is refused');
RESET ROLE;
SELECT is((SELECT w.url FROM msteams.webhooks AS w WHERE w.tenant = '00000000-0000-0000-0000-0000000000b2'),
          'https://prod-02.westeurope.logic.azure.com:443/workflows/bb/triggers/manual/paths/invoke?api-version=1&sig=SECONDSIG',
          'refused calls left the stored URL alone');

-- Readers see the webhook's name, never its URL.
SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT results_eq($$ SELECT w.webhook_name FROM msteams.webhooks AS w $$, $$ VALUES ('ops-room') $$,
                  'a reader sees its tenant''s webhook names');
SELECT throws_ok($$ SELECT w.url FROM msteams.webhooks AS w $$, '42501', NULL, 'a reader cannot select the url column');
SELECT throws_ok($$ SELECT * FROM msteams.webhooks $$, '42501', NULL, '… not even through SELECT *');
RESET msteams.tenant;
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT w.url FROM msteams.webhooks AS w $$, '42501', NULL, 'the app role cannot select the url either');

-- delete_webhook.
SELECT is(msteams.delete_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room'), true, 'delete_webhook returns true when it deleted');
SELECT is(msteams.delete_webhook('00000000-0000-0000-0000-0000000000b2', 'ops-room'), false, '… and false when there was nothing');
SELECT throws_ok($$ SELECT msteams.delete_webhook('00000000-0000-0000-0000-0000000000b2', NULL) $$,
    '22004', 'delete_webhook: webhook_name must not be null', 'a null name is refused');
SELECT is((SELECT row(e.status, e.error_code)::text FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1',
           'sla_risk', 'high', 'webhook', 'sre-room', :card, 'wh-1') AS e), '(queued,)', 'a registered webhook can be enqueued to');
SELECT is(msteams.delete_webhook('00000000-0000-0000-0000-0000000000a1', 'sre-room'), true, 'the fixture''s webhook is deleted');
SELECT is((SELECT row(e.status, e.error_code)::text FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1',
           'sla_risk', 'high', 'webhook', 'sre-room', :card, 'wh-2') AS e), '(skipped,package_misconfigured)',
          'after delete, an enqueue to the name is skipped as package_misconfigured');

-- Tenant context and roles.
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'x', 'https://h.example/p') $$,
    '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'x', 'https://h.example/p') $$,
    '42501', NULL, 'the reader role cannot set a webhook');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.delete_webhook('00000000-0000-0000-0000-0000000000b2', 'x') $$,
    '42501', NULL, 'the runner role cannot delete a webhook');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.set_webhook('00000000-0000-0000-0000-0000000000b2', 'x', 'https://h.example/p') $$,
    '42501', NULL, 'the admin role cannot set a webhook');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
