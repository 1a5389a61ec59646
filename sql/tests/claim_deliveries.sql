-- claim_deliveries: leases, priority order, expired leases, skip codes, the tenant's own settings.
BEGIN;
SELECT plan(22);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'claim_deliveries', ARRAY['text', 'integer', 'interval']);

SET LOCAL ROLE msteams_app;
SELECT delivery_id AS info_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'info',
    'user_activity', 'u1@a1.example', :feed, 'n-info') \gset
SELECT delivery_id AS crit_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'chat', 'a:personal-1', :botmsg, 'n-crit') \gset
SELECT delivery_id AS hook_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'sla_risk', 'medium',
    'webhook', 'sre-room', :card, 'n-hook') \gset
SELECT delivery_id AS b2_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000b2', 'assignment', 'high',
    'user_activity', 'u@b2.example', :feed, 'n-b2') \gset
SELECT delivery_id AS later_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u2@a1.example', :feed, 'n-later', p_run_at => now() + interval '1 hour') \gset
RESET ROLE;

SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE claimed ON COMMIT DROP AS
SELECT row_number() OVER () AS n, c.* FROM msteams.claim_deliveries('runner-1', 10, interval '1 minute') AS c;
RESET ROLE;

SELECT is((SELECT count(*)::int FROM claimed), 4, 'every due delivery is claimed; the scheduled one is not');
SELECT is((SELECT delivery_id FROM claimed WHERE n = 1), :'crit_id'::bigint, 'critical comes first');
SELECT is((SELECT delivery_id FROM claimed WHERE n = 4), :'info_id'::bigint, 'info comes last');
SELECT ok((SELECT bool_and(lease_id IS NOT NULL AND attempt_number = 1 AND NOT reclaimed) FROM claimed),
          'each claim carries a fresh lease and attempt number 1');
SELECT is((SELECT row(c.aad_tenant_id, c.client_id, c.credential_ref)::text FROM claimed AS c WHERE c.delivery_id = :'b2_id'),
          '(22222222-2222-2222-2222-222222222222,app-b2,env:SECRET_B2)',
          'a delivery carries its own tenant''s credentials, not another''s');
SELECT is((SELECT row(c.transport, c.conversation_id, c.service_url, c.bot_app_id)::text FROM claimed AS c WHERE c.delivery_id = :'crit_id'),
          '(bot,a:personal-1,https://smba.trafficmanager.net/amer/,bot-a1)', 'a bot delivery carries its conversation''s serviceUrl');
SELECT alike((SELECT c.webhook_url FROM claimed AS c WHERE c.delivery_id = :'hook_id'), 'https://prod-01.westeurope.logic.azure.com%',
          'a webhook delivery carries the URL, for the runner only');
SELECT ok((SELECT bool_and(skip_code IS NULL) FROM claimed), 'nothing to skip');
SELECT is((SELECT o.locked_by FROM msteams.outbox AS o WHERE o.delivery_id = :'crit_id'), 'runner-1', 'the lease is recorded');

SET LOCAL ROLE msteams_runner;
SELECT is((SELECT count(*)::int FROM msteams.claim_deliveries('runner-2', 10)), 0, 'leased deliveries are not claimed again');
RESET ROLE;

-- The lease expires: another runner reclaims it with a new lease and the next attempt number.
UPDATE msteams.outbox SET available_at = now() - interval '1 second' WHERE delivery_id = :'info_id';
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT row(c.delivery_id, c.attempt_number, c.reclaimed)::text FROM msteams.claim_deliveries('runner-2', 10) AS c),
          format('(%s,2,t)', :'info_id'), 'an expired lease is claimed again, as attempt 2, flagged reclaimed');
RESET ROLE;
SELECT isnt((SELECT o.lease_id FROM msteams.outbox AS o WHERE o.delivery_id = :'info_id'),
            (SELECT c.lease_id FROM claimed AS c WHERE c.delivery_id = :'info_id'), 'a reclaim gets a fresh lease id');

-- Things changed since enqueue: the claim says why it must not be sent.
UPDATE msteams.outbox SET available_at = now(), locked_by = NULL, lease_id = NULL;
UPDATE msteams.conversation_references SET status = 'stale', stale_at = now() WHERE conversation_id = 'a:personal-1';
DELETE FROM msteams.webhooks WHERE webhook_name = 'sre-room';
UPDATE msteams.integrations SET install_status = 'suspended' WHERE tenant = '00000000-0000-0000-0000-0000000000b2';
UPDATE msteams.outbox SET expires_at = now() - interval '1 minute' WHERE delivery_id = :'info_id';
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE reclaimed ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-3', 10);
RESET ROLE;
SELECT is((SELECT skip_code FROM reclaimed WHERE delivery_id = :'crit_id'), 'user_not_mapped', 'a stale conversation: user_not_mapped');
SELECT is((SELECT skip_code FROM reclaimed WHERE delivery_id = :'hook_id'), 'package_misconfigured', 'a deleted webhook: package_misconfigured');
SELECT is((SELECT skip_code FROM reclaimed WHERE delivery_id = :'b2_id'), 'integration_inactive', 'a suspended integration: integration_inactive');
SELECT is((SELECT skip_code FROM reclaimed WHERE delivery_id = :'info_id'), 'expired', 'past its expiry: expired');

-- A scope paused by a Retry-After is not claimed, whatever made its rows due; other scopes are.
UPDATE msteams.integrations SET install_status = 'active' WHERE tenant = '00000000-0000-0000-0000-0000000000b2';
UPDATE msteams.outbox SET available_at = now() - interval '1 second', locked_by = NULL, lease_id = NULL;
INSERT INTO msteams.throttle_pauses (tenant, scope, paused_until, error_code)
VALUES ('00000000-0000-0000-0000-0000000000b2', 'graph', now() + interval '1 minute', 'graph_throttled');
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT count(*)::int FROM msteams.claim_deliveries('runner-4', 10) WHERE tenant = '00000000-0000-0000-0000-0000000000b2'),
          0, 'a paused scope''s due deliveries are not claimed');
RESET ROLE;
UPDATE msteams.throttle_pauses SET paused_until = now() - interval '1 second';
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT count(*)::int FROM msteams.claim_deliveries('runner-5', 10) WHERE tenant = '00000000-0000-0000-0000-0000000000b2'),
          1, 'once the pause is over they are claimed');
RESET ROLE;

SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.claim_deliveries('r', 0) $$, '22023', 'claim_deliveries: limit 0 is out of range', 'limit 0 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.claim_deliveries(NULL) $$, '22004', NULL, 'a null worker is refused');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.claim_deliveries('r') $$, '42501', NULL, 'the app role cannot claim');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
