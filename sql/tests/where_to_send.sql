-- where_to_send: the one decision of a delivery's transport, conversation and skip code
-- (msteams._where_to_send), as its callers make it: enqueue and requeue decide, claim checks again
-- with what the delivery was queued with. Called as msteams_owner, like its definer callers.
BEGIN;
SELECT plan(34);
\ir fixtures/tenants.sql

SELECT has_function('msteams', '_where_to_send', ARRAY['uuid', 'text', 'text', 'jsonb', 'text', 'text', 'timestamp with time zone']);
SELECT isnt_definer('msteams', '_where_to_send', ARRAY['uuid', 'text', 'text', 'jsonb', 'text', 'text', 'timestamp with time zone']);
SELECT ok(NOT has_function_privilege('msteams_app', 'msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('msteams_runner', 'msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz)', 'EXECUTE'),
          'private: only the definer functions (msteams_owner) call it');
-- What lets PostgreSQL inline it into the calling statement (set-based over a bulk enqueue).
SELECT is((SELECT row(l.lanname, p.provolatile, p.proisstrict, p.proretset, p.proconfig IS NULL)::text
             FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
            WHERE p.oid = 'msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz)'::regprocedure),
          '(sql,s,f,t,t)', 'LANGUAGE sql, STABLE, not STRICT, set-returning, no SET clause: inlinable');

-- More conversations of tenant a1: user ...0003 has two personal chats (the later one wins) and a
-- stale one; and a group chat whose id is that user's id.
INSERT INTO msteams.conversation_references
       (tenant, microsoft_user_id, conversation_id, service_url, conversation_type, last_activity_at, status, stale_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000003', 'a:old-3',
        'https://smba.trafficmanager.net/old/', 'personal', now() - interval '2 days', 'active', NULL),
       ('00000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000003', 'a:new-3',
        'https://smba.trafficmanager.net/new/', 'personal', now() - interval '1 day', 'active', NULL),
       ('00000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000003', 'a:stale-3',
        'https://smba.trafficmanager.net/stale/', 'personal', now(), 'stale', now()),
       -- a conversation whose id is the user id itself: an exact match beats the user's personal chat
       ('00000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-0000-0000-0000-000000000009', 'aaaaaaaa-0000-0000-0000-000000000003',
        'https://smba.trafficmanager.net/exact/', 'groupChat', now() - interval '3 days', 'active', NULL);

SET LOCAL ROLE msteams_owner;
CREATE TEMP TABLE w ON COMMIT DROP AS
SELECT c.label, d.*
  FROM (VALUES
        ('feed',        '00000000-0000-0000-0000-0000000000a1'::uuid, 'user_activity', 'u1@a1.example', :feed::jsonb),
        ('chat_feed',   '00000000-0000-0000-0000-0000000000a1', 'chat',    '19:chat@unq.gbl.spaces', :feed),
        ('team_feed',   '00000000-0000-0000-0000-0000000000a1', 'channel', 'bbbbbbbb-0000-0000-0000-000000000001', :feed),
        ('bot_personal','00000000-0000-0000-0000-0000000000a1', 'chat',    'a:personal-1', :botmsg),
        ('bot_user',    '00000000-0000-0000-0000-0000000000a1', 'chat',    'aaaaaaaa-0000-0000-0000-000000000001', :botmsg),
        ('bot_exact',   '00000000-0000-0000-0000-0000000000a1', 'chat',    'aaaaaaaa-0000-0000-0000-000000000003', :botmsg),
        ('bot_channel', '00000000-0000-0000-0000-0000000000a1', 'channel', '19:room@thread.tacv2', :botmsg),
        ('bot_unmapped','00000000-0000-0000-0000-0000000000a1', 'chat',    'aaaaaaaa-0000-0000-0000-000000000077', :botmsg),
        ('chan_user',   '00000000-0000-0000-0000-0000000000a1', 'channel', 'aaaaaaaa-0000-0000-0000-000000000001', :botmsg),
        ('hook',        '00000000-0000-0000-0000-0000000000a1', 'webhook', 'sre-room', :card),
        ('hook_unknown','00000000-0000-0000-0000-0000000000a1', 'webhook', 'nobody-room', :card),
        ('b2_feed',     '00000000-0000-0000-0000-0000000000b2', 'user_activity', 'u@b2.example', :feed),
        ('c3_feed',     '00000000-0000-0000-0000-0000000000c3', 'user_activity', 'u@c3.example', :feed),
        ('d4_feed',     '00000000-0000-0000-0000-0000000000d4', 'user_activity', 'u@d4.example', :feed),
        ('e5_feed',     '00000000-0000-0000-0000-0000000000e5', 'user_activity', 'u@e5.example', :feed),
        ('e5_bot',      '00000000-0000-0000-0000-0000000000e5', 'chat',    'a:personal-1', :botmsg),
        ('e5_hook',     '00000000-0000-0000-0000-0000000000e5', 'webhook', 'sre-room', :card),
        ('f6_feed',     '00000000-0000-0000-0000-0000000000f6', 'user_activity', 'u@f6.example', :feed)
       ) AS c(label, tenant, destination_type, destination_id, payload)
 CROSS JOIN LATERAL msteams._where_to_send(c.tenant, c.destination_type, c.destination_id, c.payload) AS d;
RESET ROLE;

-- Transport: from the destination type and the payload's shape.
SELECT is((SELECT string_agg(w.label || '=' || w.transport, ' ' ORDER BY w.label) FROM w
            WHERE w.label IN ('feed', 'chat_feed', 'team_feed', 'bot_personal', 'bot_channel', 'hook')),
          'bot_channel=bot bot_personal=bot chat_feed=graph feed=graph hook=webhook team_feed=graph',
          'user_activity and an activity feed payload go by Graph, a message to a conversation by the bot, a webhook by its URL');

-- Skip codes, each where it applies first.
SELECT is((SELECT string_agg(w.label || '=' || coalesce(w.skip_code, '-'), ' ' ORDER BY w.label) FROM w
            WHERE w.label IN ('feed', 'b2_feed', 'c3_feed', 'd4_feed', 'e5_feed', 'e5_bot', 'e5_hook', 'f6_feed',
                              'hook', 'hook_unknown', 'bot_personal', 'bot_unmapped')),
          'b2_feed=- bot_personal=- bot_unmapped=user_not_mapped c3_feed=integration_inactive d4_feed=addon_inactive '
          'e5_bot=package_misconfigured e5_feed=package_misconfigured e5_hook=package_misconfigured '
          'f6_feed=integration_inactive feed=- hook=- hook_unknown=package_misconfigured',
          'every skip code where it applies: no or inactive integration, no add-on, settings incomplete for the transport, webhook not registered, no conversation');
SELECT is((SELECT w.skip_code FROM w WHERE w.label = 'e5_hook'), 'package_misconfigured',
          'webhook: a registered name for another tenant is not this tenant''s');

-- Conversation resolution order (bot only).
SELECT is((SELECT row(w.conversation_id, w.service_url)::text FROM w WHERE w.label = 'bot_personal'),
          '(a:personal-1,https://smba.trafficmanager.net/amer/)', 'a conversation id resolves to its reference and serviceUrl');
SELECT is((SELECT w.conversation_id FROM w WHERE w.label = 'bot_user'), 'a:personal-1',
          'a chat to a user id resolves to the user''s personal conversation');
SELECT is((SELECT w.conversation_id FROM w WHERE w.label = 'bot_exact'), 'aaaaaaaa-0000-0000-0000-000000000003',
          'a conversation whose id is the destination comes before the personal chats of a user of that id, even later ones');
DELETE FROM msteams.conversation_references WHERE conversation_id = 'aaaaaaaa-0000-0000-0000-000000000003';
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT d.conversation_id FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat',
              'aaaaaaaa-0000-0000-0000-000000000003', :botmsg) AS d),
          'a:new-3', 'among a user''s personal chats the one with the latest activity wins; a stale one never does');
RESET ROLE;
SELECT is((SELECT row(w.conversation_id, w.skip_code)::text FROM w WHERE w.label = 'chan_user'), '(,user_not_mapped)',
          'only a chat falls back to the user''s personal conversation, not a channel');
SELECT is((SELECT w.conversation_id FROM w WHERE w.label = 'bot_channel'), '19:room@thread.tacv2', 'a channel conversation resolves by its id');
SELECT ok((SELECT bool_and(w.conversation_id IS NULL AND w.service_url IS NULL) FROM w WHERE w.transport <> 'bot'),
          'Graph and webhook deliveries have no conversation');
SELECT is((SELECT w.webhook_url FROM w WHERE w.label = 'hook'),
          'https://prod-01.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sig=SECRETSIG',
          'a webhook delivery gets the registered URL');
SELECT ok((SELECT bool_and(w.webhook_url IS NULL) FROM w WHERE w.transport <> 'webhook'), 'no other delivery sees a webhook URL');
SELECT is((SELECT row(w.aad_tenant_id, w.client_id, w.credential_ref, w.bot_app_id, w.bot_credential_ref, w.teams_app_id)::text
             FROM w WHERE w.label = 'b2_feed'),
          '(22222222-2222-2222-2222-222222222222,app-b2,env:SECRET_B2,bot-b2,,teams-app-b2)',
          'the delivering tenant''s own integration settings come with it');

-- Bot settings: the bot's own credential counts, and the bot app id is needed.
UPDATE msteams.integrations SET credential_ref = NULL, bot_credential_ref = 'env:BOT_A1'
 WHERE tenant = '00000000-0000-0000-0000-0000000000a1';
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT row(d.skip_code, d.bot_credential_ref)::text
             FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat', 'a:personal-1', :botmsg) AS d),
          '(,env:BOT_A1)', 'bot: a bot credential without the Graph one is enough');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'user_activity', 'u1@a1.example', :feed) AS d),
          'package_misconfigured', 'graph: the bot credential is not the Graph one');
RESET ROLE;
UPDATE msteams.integrations SET bot_app_id = NULL WHERE tenant = '00000000-0000-0000-0000-0000000000a1';
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat', 'a:personal-1', :botmsg) AS d),
          'package_misconfigured', 'bot: no bot app id is package_misconfigured');
RESET ROLE;
UPDATE msteams.integrations SET aad_tenant_id = NULL, bot_app_id = 'bot-a1', credential_ref = 'env:SECRET_A1'
 WHERE tenant = '00000000-0000-0000-0000-0000000000a1';
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT string_agg(coalesce(d.skip_code, '-'), ' ' ORDER BY x.t)
             FROM (VALUES (1, 'user_activity', 'u1@a1.example', :feed::jsonb), (2, 'chat', 'a:personal-1', :botmsg),
                          (3, 'webhook', 'sre-room', :card)) AS x(t, dt, did, pl)
            CROSS JOIN LATERAL msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', x.dt, x.did, x.pl) AS d),
          'package_misconfigured package_misconfigured -', 'no Entra tenant: Graph and bot cannot send, a webhook still can');
RESET ROLE;
UPDATE msteams.integrations SET aad_tenant_id = '11111111-1111-1111-1111-111111111111'
 WHERE tenant = '00000000-0000-0000-0000-0000000000a1';

-- Order: expiry first, then the integration, the add-on, the settings, the conversation.
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000c3', 'chat', 'a:nowhere', :botmsg,
                                                          p_expires_at => now() - interval '1 second') AS d),
          'expired', 'expired comes first, whatever else applies');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'user_activity', 'u1@a1.example', :feed,
                                                          p_expires_at => now()) AS d),
          'expired', 'an expiry that is now has passed');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'user_activity', 'u1@a1.example', :feed,
                                                          p_expires_at => now() + interval '1 minute') AS d),
          NULL, 'a future expiry does not skip');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000c3', 'chat', 'a:nowhere', :botmsg) AS d),
          'integration_inactive', 'an inactive integration comes before a missing conversation');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000d4', 'webhook', 'nobody-room', :card) AS d),
          'addon_inactive', 'no add-on comes before an unregistered webhook');
SELECT is((SELECT d.skip_code FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000e5', 'chat', 'a:nowhere', :botmsg) AS d),
          'package_misconfigured', 'incomplete settings come before a missing conversation');
RESET ROLE;

-- At claim: the delivery's queued transport and conversation are checked again, not decided anew.
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT d.transport FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat', 'a:personal-1', :botmsg,
                                                          p_queued_transport => 'graph') AS d),
          'graph', 'a queued transport is kept');
SELECT is((SELECT row(d.conversation_id, d.service_url, d.skip_code)::text
             FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat', 'aaaaaaaa-0000-0000-0000-000000000003', :botmsg,
                                         'bot', 'a:old-3') AS d),
          '(a:old-3,https://smba.trafficmanager.net/old/,)',
          'a queued conversation is the one checked, even when the user has a later one');
RESET ROLE;
UPDATE msteams.conversation_references SET status = 'stale', stale_at = now() WHERE conversation_id = 'a:old-3';
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT row(d.conversation_id, d.skip_code)::text
             FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat', 'aaaaaaaa-0000-0000-0000-000000000003', :botmsg,
                                         'bot', 'a:old-3') AS d),
          '(,user_not_mapped)', 'a queued conversation gone stale is user_not_mapped, not replaced by another');
SELECT is((SELECT d.conversation_id FROM msteams._where_to_send('00000000-0000-0000-0000-0000000000a1', 'chat',
              'aaaaaaaa-0000-0000-0000-000000000003', :botmsg) AS d),
          'a:new-3', '(a new enqueue to the same user resolves the live one)');
RESET ROLE;

-- Tenants stay apart: a1's webhook and conversation are not b2's.
SET LOCAL ROLE msteams_owner;
SELECT is((SELECT string_agg(d.skip_code, ' ' ORDER BY x.t)
             FROM (VALUES (1, 'chat', 'a:personal-1', :botmsg::jsonb), (2, 'webhook', 'sre-room', :card)) AS x(t, dt, did, pl)
            CROSS JOIN LATERAL msteams._where_to_send('00000000-0000-0000-0000-0000000000b2', x.dt, x.did, x.pl) AS d),
          'user_not_mapped package_misconfigured', 'another tenant''s conversation and webhook are not found');
RESET ROLE;

-- Set-based: over many deliveries it is inlined into the calling statement, not called per row.
CREATE FUNCTION pg_temp.plan_of(p_query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || p_query;
END $$;
SET LOCAL ROLE msteams_owner;
SELECT is_empty($$
    SELECT p.line FROM pg_temp.plan_of(
        'SELECT d.skip_code FROM generate_series(1, 1000) AS g(i)
          CROSS JOIN LATERAL msteams._where_to_send(''00000000-0000-0000-0000-0000000000a1'', ''chat'', ''a:'' || g.i,
                                                    ''{"type": "message", "text": "x"}'') AS d') AS p(line)
     WHERE p.line ~ 'Function Scan on _where_to_send'
$$, 'inlined: the caller''s plan joins the lookups, it has no function scan of _where_to_send');
RESET ROLE;
SELECT ok((SELECT count(*) FROM msteams.notification_deliveries) = 0 AND (SELECT count(*) FROM msteams.outbox) = 0,
          'it decides, it writes nothing');

SELECT * FROM finish();
ROLLBACK;
