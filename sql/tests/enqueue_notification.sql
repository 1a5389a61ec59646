-- enqueue_notification: validation, idempotency, skips with their codes, roles.
BEGIN;
SELECT plan(42);
\ir fixtures/tenants.sql

SELECT has_function('msteams', 'enqueue_notification',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'timestamp with time zone']);
SELECT is_definer('msteams', 'enqueue_notification',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'timestamp with time zone']);

SET LOCAL ROLE msteams_app;

-- A Graph activity feed notification to a user: queued.
SELECT * FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'aaaaaaaa-0000-0000-0000-000000000001', :feed, 'ticket-42') \gset first_
SELECT is(:'first_status'::text, 'queued', 'a delivery that can be attempted is queued');
SELECT is(:'first_duplicate'::boolean, false, 'the first call is not a duplicate');

-- The same notification to the same destination again: the first delivery comes back.
SELECT * FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'aaaaaaaa-0000-0000-0000-000000000001', :feed, 'ticket-42') \gset again_
SELECT is(:'again_delivery_id'::bigint, :'first_delivery_id'::bigint, 'a repeat returns the first delivery id');
SELECT is(:'again_duplicate'::boolean, true, 'a repeat says it is a duplicate');
SELECT is(:'again_status'::text, 'queued', 'a repeat reports where the first delivery stands');

-- A host key: the same key is the same delivery, even with another destination.
SELECT delivery_id AS keyed FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'low',
    'user_activity', 'someone@contoso.example', :feed, 'ticket-43', p_idempotency_key => 'host-key-1') \gset
SELECT is((SELECT delivery_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'low',
    'user_activity', 'other@contoso.example', :feed, 'ticket-44', p_idempotency_key => 'host-key-1')),
    :'keyed'::bigint, 'a repeat of a host idempotency key returns the first delivery');
SELECT isnt((SELECT delivery_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000b2', 'assignment', 'low',
    'user_activity', 'other@fabrikam.example', :feed, 'ticket-44', p_idempotency_key => 'host-key-1')),
    :'keyed'::bigint, 'the same key under another tenant is another delivery');

-- A bot message to a user with a live personal conversation: queued, conversation resolved.
SELECT delivery_id AS bot_id, status AS bot_status FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1',
    'escalation', 'critical', 'chat', 'aaaaaaaa-0000-0000-0000-000000000001', :botmsg, 'incident-7') \gset
SELECT is(:'bot_status'::text, 'queued', 'a bot message to a mapped user is queued');
SELECT is(status, 'queued', 'a bot message to a channel with a reference is queued')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'high', 'channel',
       '19:room@thread.tacv2', :botmsg, 'incident-7');
SELECT is(status, 'queued', 'a card to a registered webhook is queued')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'sla_risk', 'high', 'webhook', 'sre-room', :card, 'incident-7');

-- Deliveries that cannot be attempted are recorded as skipped, with their code.
SELECT is(row(status, error_code)::text, '(skipped,user_not_mapped)', 'a bot message to an unmapped user is skipped: user_not_mapped')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'chat',
       'aaaaaaaa-0000-0000-0000-0000000000ff', :botmsg, 'ticket-50');
SELECT is(row(status, error_code)::text, '(skipped,integration_inactive)', 'an inactive integration: integration_inactive')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000c3', 'assignment', 'high', 'user_activity',
       'user@c3.example', :feed, 'ticket-51');
SELECT is(row(status, error_code)::text, '(skipped,integration_inactive)', 'no integration at all: integration_inactive')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000f6', 'assignment', 'high', 'user_activity',
       'user@f6.example', :feed, 'ticket-52');
SELECT is(row(status, error_code)::text, '(skipped,addon_inactive)', 'no add-on entitlement: addon_inactive')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000d4', 'assignment', 'high', 'user_activity',
       'user@d4.example', :feed, 'ticket-53');
SELECT is(row(status, error_code)::text, '(skipped,package_misconfigured)', 'no credentials: package_misconfigured')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000e5', 'assignment', 'high', 'user_activity',
       'user@e5.example', :feed, 'ticket-54');
SELECT is(row(status, error_code)::text, '(skipped,package_misconfigured)', 'an unregistered webhook: package_misconfigured')
  FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'webhook',
       'no-such-hook', :card, 'ticket-55');

-- Validation: SQLSTATE, the field in the message, nothing written.
SELECT throws_ok($$ SELECT msteams.enqueue_notification(NULL, 'assignment', 'high', 'user_activity', 'u@x.example', '{}', 'n') $$,
    '22004', 'enqueue_notification: tenant must not be null', 'a null tenant is refused, naming the field');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'urgent', 'high', 'user_activity',
    'u@x.example', '{}', 'n') $$, '22023', 'enqueue_notification: category ''urgent'' is not known', 'an unknown category is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', NULL, 'high', 'user_activity',
    'u@x.example', '{}', 'n') $$, '22004', 'enqueue_notification: category must not be null', 'a null category is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'urgent', 'user_activity',
    'u@x.example', '{}', 'n') $$, '22023', 'enqueue_notification: priority ''urgent'' is not known', 'an unknown priority is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'email',
    'u@x.example', '{}', 'n') $$, '22023', 'enqueue_notification: destination_type ''email'' is not known', 'an unknown destination type is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'user_activity',
    'not a user', '{}', 'n') $$, '22023', 'enqueue_notification: destination_id does not have the shape of a user_activity destination',
    'a destination id of the wrong shape is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'webhook',
    'https://prod-01.logic.azure.com/workflows/x?sig=LEAKME', '{}', 'n') $$, '22023',
    'enqueue_notification: destination_id must be the name of a webhook registered with set_webhook, never its URL',
    'a webhook URL given as destination is refused, without echoing it');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n') $$, '{"text": "hello"}'), '22023',
    'enqueue_notification: payload is not a valid activity feed notification payload', 'an activity feed payload without topic is refused');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'chat', 'a:conv', %L, 'n') $$, '{"type": "typing"}'), '22023',
    'enqueue_notification: payload is not a valid bot message payload', 'a bot payload that is not a message is refused');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'webhook', 'sre-room', %L, 'n') $$,
    jsonb_set(:card::jsonb, '{attachments,0,content,body,0,text}', to_jsonb(repeat('x', 30000)))), '22023', NULL,
    'a card over the 28 KB webhook limit is refused');
SELECT throws_ok($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high', 'user_activity',
    'u@x.example', NULL, 'n') $$, '22004', 'enqueue_notification: payload must not be null', 'a null payload is refused');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, '') $$, :feed), '22004',
    'enqueue_notification: internal_notification_id must not be empty', 'an empty internal_notification_id is refused');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n', p_expires_at => now() - interval '1 minute') $$, :feed), '22023',
    'enqueue_notification: expires_at is not after run_at and now', 'an expiry in the past is refused');
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n', p_event_type => repeat('e', 101)) $$, :feed), '22023',
    'enqueue_notification: event_type is longer than 100 characters', 'an event_type over 100 characters is refused');

-- Tenant context: a session scoped to one tenant cannot enqueue for another.
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n-ctx') $$, :feed), '42501', NULL,
    'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;

-- What was written (as the owner).
SELECT is((SELECT o.conversation_id FROM msteams.outbox AS o WHERE o.delivery_id = :'bot_id'), 'a:personal-1',
          'a bot message to a user id is resolved to the user''s personal conversation');
SELECT is((SELECT o.transport FROM msteams.outbox AS o WHERE o.delivery_id = :'first_delivery_id'), 'graph',
          'a user activity notification goes through Graph');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'ticket-42'), 1,
          'the repeat wrote no second outbox row');
SELECT ok((SELECT o.expires_at BETWEEN now() + interval '3 hours 59 minutes' AND now() + interval '4 hours 1 minute'
             FROM msteams.outbox AS o WHERE o.category = 'sla_risk' LIMIT 1),
          'a delivery without expires_at gets its category''s default expiry (sla_risk: 4 hours)');
SELECT is((SELECT row(d.status, d.error_code, d.final, d.attempt_number)::text FROM msteams.notification_deliveries AS d
            WHERE d.internal_notification_id = 'ticket-50'), '(skipped,user_not_mapped,t,1)',
          'a skip is one final ledger row');
SELECT is((SELECT p.payload FROM msteams.dead_letter_payloads AS p WHERE p.internal_notification_id = 'ticket-50'),
          :botmsg::jsonb, 'a skipped delivery keeps its payload for a later retry');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id IN ('n', 'n-ctx')), 0,
          'refused calls wrote nothing');

SET LOCAL ROLE msteams_reader;
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n') $$, :feed), '42501', NULL, 'the reader role cannot enqueue');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok(format($$ SELECT msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u@x.example', %L, 'n') $$, :feed), '42501', NULL, 'the runner role cannot enqueue');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
