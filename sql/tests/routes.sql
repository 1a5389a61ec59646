-- set_route, delete_route, enqueue_to_route: named routes fanned out to one delivery per destination.
BEGIN;
SELECT plan(42);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'set_route', ARRAY['uuid', 'text', 'jsonb']);
SELECT is_definer('msteams', 'delete_route', ARRAY['uuid', 'text']);
SELECT is_definer('msteams', 'enqueue_to_route',
    ARRAY['uuid', 'text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'timestamp with time zone']);

SET LOCAL ROLE msteams_app;
SELECT is(msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[
    {"destination_type": "webhook", "destination_id": "sre-room"},
    {"destination_type": "channel", "destination_id": "19:room@thread.tacv2"},
    {"destination_type": "user_activity", "destination_id": "aaaaaaaa-0000-0000-0000-000000000001"},
    {"destination_type": "webhook", "destination_id": "sre-room"}]'), 3,
    'set_route stores the distinct destinations and returns their number');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.routes AS r WHERE r.tenant = '00000000-0000-0000-0000-0000000000a1' AND r.route = 'sre'),
          3, 'three route rows');

-- Fan-out: one delivery per destination, each with its own key.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE fan ON COMMIT DROP AS
SELECT row_number() OVER () AS n, e.*
  FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation', 'critical',
       jsonb_build_object('webhook', :card::jsonb, 'channel', :botmsg::jsonb, 'user_activity', :feed::jsonb), 'inc-9') AS e;
RESET ROLE;
SELECT results_eq($$ SELECT f.destination_type, f.destination_id, f.status, f.duplicate FROM fan AS f ORDER BY f.n $$,
    $$ VALUES ('channel', '19:room@thread.tacv2', 'queued', false),
              ('user_activity', 'aaaaaaaa-0000-0000-0000-000000000001', 'queued', false),
              ('webhook', 'sre-room', 'queued', false) $$,
    'one queued delivery per destination of the route, in destination order');
SELECT is((SELECT count(DISTINCT f.delivery_id)::int FROM fan AS f), 3, 'three distinct deliveries');
SELECT is((SELECT count(DISTINCT o.enqueue_key)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'inc-9'), 3,
          'each delivery has its own enqueue key');
SELECT is((SELECT o.payload FROM msteams.outbox AS o JOIN fan AS f USING (delivery_id) WHERE f.destination_type = 'webhook'),
          :card::jsonb, 'each destination gets the payload of its type');
SELECT is((SELECT o.enqueue_key FROM msteams.outbox AS o JOIN fan AS f USING (delivery_id) WHERE f.destination_type = 'channel'),
          encode(sha256(convert_to('inc-9|00000000-0000-0000-0000-0000000000a1|channel|19:room@thread.tacv2', 'UTF8')), 'hex'),
          'without a host key, each destination''s key is derived as for enqueue_notification');

-- The same call again: the same deliveries, duplicates, nothing new.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE fan_again ON COMMIT DROP AS
SELECT row_number() OVER () AS n, e.*
  FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation', 'critical',
       jsonb_build_object('webhook', :card::jsonb, 'channel', :botmsg::jsonb, 'user_activity', :feed::jsonb), 'inc-9') AS e;
RESET ROLE;
SELECT results_eq($$ SELECT a.delivery_id, a.duplicate FROM fan_again AS a ORDER BY a.n $$,
                  $$ SELECT f.delivery_id, true FROM fan AS f ORDER BY f.n $$,
                  'a repeat returns the same delivery ids, each marked duplicate');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'inc-9'), 3,
          'a repeat writes no outbox row');

-- A host key: each destination's key is the host key plus the destination.
SET LOCAL ROLE msteams_app;
CREATE TEMP TABLE keyed ON COMMIT DROP AS
SELECT e.* FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation', 'high',
       jsonb_build_object('webhook', :card::jsonb, 'channel', :botmsg::jsonb, 'user_activity', :feed::jsonb), 'inc-10',
       p_idempotency_key => 'host-k') AS e;
RESET ROLE;
SELECT is((SELECT o.enqueue_key FROM msteams.outbox AS o JOIN keyed AS k USING (delivery_id) WHERE k.destination_type = 'webhook'),
          'host-k:webhook:sre-room', 'a host key becomes one key per destination');
SET LOCAL ROLE msteams_app;
SELECT is((SELECT count(*)::int FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation', 'high',
       jsonb_build_object('webhook', :card::jsonb, 'channel', :botmsg::jsonb, 'user_activity', :feed::jsonb), 'inc-11',
       p_idempotency_key => 'host-k') AS e WHERE e.duplicate), 3,
    'the same host key to the same route is a duplicate even for another notification id');

-- A destination that cannot be attempted is skipped with its code, the others still queued.
SELECT is(msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'ops', '[
    {"destination_type": "webhook", "destination_id": "gone-hook"},
    {"destination_type": "user_activity", "destination_id": "ops@a1.example"}]'), 2, 'a second route');
SELECT results_eq($$ SELECT e.destination_id, e.status, e.error_code FROM msteams.enqueue_to_route(
        '00000000-0000-0000-0000-0000000000a1', 'ops', 'sla_risk', 'high',
        jsonb_build_object('webhook', $$ || quote_literal(:card) || $$::jsonb, 'user_activity', $$ || quote_literal(:feed) || $$::jsonb),
        'inc-12') AS e $$,
    $$ VALUES ('ops@a1.example', 'queued', NULL::text), ('gone-hook', 'skipped', 'package_misconfigured') $$,
    'an unregistered webhook on a route is skipped, the rest queued');

-- Errors.
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'nowhere', 'escalation',
    'high', %L, 'inc-13') $$, jsonb_build_object('webhook', :card::jsonb)),
    'P0002', 'enqueue_to_route: route ''nowhere'' does not exist for this tenant', 'an unknown route is P0002');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000b2', 'sre', 'escalation',
    'high', %L, 'inc-13') $$, jsonb_build_object('webhook', :card::jsonb)),
    'P0002', NULL, 'another tenant''s route is unknown');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation',
    'high', %L, 'inc-13') $$, jsonb_build_object('webhook', :card::jsonb, 'user_activity', :feed::jsonb)),
    '22023', 'enqueue_to_route: payloads has no payload for destination type channel of route ''sre''',
    'a destination type of the route without a payload is refused');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation',
    'high', '[]', 'inc-13') $$, '22023', 'enqueue_to_route: payloads must be a JSON object keyed by destination type',
    'payloads that are not an object are refused');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', NULL, 'escalation',
    'high', '{}', 'inc-13') $$, '22004', 'enqueue_to_route: route must not be null', 'a null route is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation',
    'high', %L, 'inc-13') $$, jsonb_build_object('webhook', :card::jsonb, 'channel', '{"type": "typing"}'::jsonb,
                                                 'user_activity', :feed::jsonb)),
    '22023', 'enqueue_to_route: deliveries[1].payload is not a valid bot message payload',
    'a bad payload names the delivery it would have made');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'inc-13'), 0,
          'refused fan-outs wrote nothing');

-- set_route replaces; its validation names the bad destination.
SELECT is(msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[{"destination_type": "chat", "destination_id": "a:personal-1"}]'),
          1, 'set_route on an existing route replaces it');
RESET ROLE;
SELECT results_eq($$ SELECT r.destination_type, r.destination_id FROM msteams.routes AS r
                      WHERE r.tenant = '00000000-0000-0000-0000-0000000000a1' AND r.route = 'sre' $$,
                  $$ VALUES ('chat', 'a:personal-1') $$, 'only the new destinations remain');
SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[
    {"destination_type": "chat", "destination_id": "a:personal-1"},
    {"destination_type": "webhook", "destination_id": "https://prod-01.logic.azure.com/workflows/x?sig=LEAKME"}]') $$,
    '22023', 'set_route: destinations[2] is not a valid destination', 'a webhook given as a URL is refused, naming destinations[2]');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[
    {"destination_type": "email", "destination_id": "x@y.example"}]') $$,
    '22023', 'set_route: destinations[1] is not a valid destination', 'an unknown destination type is refused');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[
    {"destination_type": "chat", "destination_id": "a:personal-1"}, {"destination_type": "chat", "destination_id": ""}]') $$,
    '22023', 'set_route: destinations[2] is not a valid destination', 'an empty destination id is refused');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '[]') $$,
    '22023', 'set_route: destinations must be a non-empty JSON array', 'an empty route is refused (delete it instead)');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', '{"destination_type": "chat"}') $$,
    '22023', 'set_route: destinations must be a non-empty JSON array', 'destinations that are not an array are refused');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'sre', NULL) $$,
    '22004', 'set_route: destinations must be a non-empty JSON array', 'null destinations are refused');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'Bad Name', '[{"destination_type": "chat", "destination_id": "a:x"}]') $$,
    '22023', 'set_route: route is not a valid name', 'a route name with spaces or capitals is refused');
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', NULL, '[]') $$,
    '22004', 'set_route: route must not be null', 'a null route name is refused');
RESET ROLE;
SELECT results_eq($$ SELECT r.destination_id FROM msteams.routes AS r
                      WHERE r.tenant = '00000000-0000-0000-0000-0000000000a1' AND r.route = 'sre' $$,
                  $$ VALUES ('a:personal-1') $$, 'a refused set_route leaves the route as it was');

-- delete_route.
SET LOCAL ROLE msteams_app;
SELECT is(msteams.delete_route('00000000-0000-0000-0000-0000000000a1', 'sre'), true, 'delete_route returns true when it deleted');
SELECT is(msteams.delete_route('00000000-0000-0000-0000-0000000000a1', 'sre'), false, '… and false when there was nothing');
SELECT throws_ok(format($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'sre', 'escalation',
    'high', %L, 'inc-14') $$, jsonb_build_object('chat', :botmsg::jsonb)),
    'P0002', NULL, 'a deleted route cannot be enqueued to');

-- Tenant context and roles.
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok($$ SELECT msteams.delete_route('00000000-0000-0000-0000-0000000000a1', 'ops') $$,
    '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;
SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'x', '[{"destination_type": "chat", "destination_id": "a:x"}]') $$,
    '42501', NULL, 'the reader role cannot set a route');
SELECT throws_ok($$ SELECT * FROM msteams.enqueue_to_route('00000000-0000-0000-0000-0000000000a1', 'ops', 'escalation', 'high', '{}', 'n') $$,
    '42501', NULL, 'the reader role cannot enqueue to a route');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.delete_route('00000000-0000-0000-0000-0000000000a1', 'ops') $$,
    '42501', NULL, 'the runner role cannot delete a route');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.set_route('00000000-0000-0000-0000-0000000000a1', 'x', '[{"destination_type": "chat", "destination_id": "a:x"}]') $$,
    '42501', NULL, 'the admin role cannot set a route');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
