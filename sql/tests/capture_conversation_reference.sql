-- capture_conversation_reference: a raw inbound Bot Framework activity in, a reference upserted,
-- a bot removal or uninstall turned into stale, an install turned into revived.
BEGIN;
SELECT plan(25);

SELECT has_function('msteams', 'capture_conversation_reference', ARRAY['uuid', 'jsonb']);
SELECT is_definer('msteams', 'capture_conversation_reference', ARRAY['uuid', 'jsonb']);
SELECT function_privs_are('msteams', 'capture_conversation_reference', ARRAY['uuid', 'jsonb'],
                          'msteams_app', ARRAY['EXECUTE'], 'the app role captures activities');

SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';

-- A personal-chat message, shaped as Teams sends it.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', $json$
{
  "type": "message", "id": "1736503200000", "timestamp": "2025-01-10T10:00:00.1234567Z",
  "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams",
  "from": {"id": "29:1user", "name": "Ada", "aadObjectId": "aad-ada"},
  "conversation": {"conversationType": "personal", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "id": "a:1chat"},
  "recipient": {"id": "28:bot-app-id", "name": "pgteams bot"},
  "locale": "en-GB", "text": "hello",
  "channelData": {"tenant": {"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}
}$json$), 'inserted', 'a first message inserts the reference');
SELECT results_eq(
    $$ SELECT r.microsoft_user_id, r.conversation_id, r.service_url, r.conversation_type, r.aad_tenant_id, r.bot_id,
              r.user_teams_id, r.locale, r.activity_id, r.channel_id, r.last_activity_at
         FROM msteams.conversation_references AS r $$,
    $$ VALUES ('aad-ada', 'a:1chat', 'https://smba.trafficmanager.net/amer/', 'personal',
               '72f988bf-86f1-41af-91ab-2d7cd011db47', '28:bot-app-id', '29:1user', 'en-GB', '1736503200000',
               'msteams', '2025-01-10 10:00:00.123457+00'::timestamptz) $$,
    'the fields come from serviceUrl, conversation, from, recipient, locale, id, channelId and timestamp');

-- A channel message without conversation.tenantId and without from.aadObjectId.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', $json$
{
  "type": "message", "id": "m2", "timestamp": "2025-01-10T11:00:00Z",
  "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams",
  "from": {"id": "29:2user"},
  "conversation": {"conversationType": "channel", "id": "19:abc@thread.tacv2;messageid=1"},
  "recipient": {"id": "28:bot-app-id"},
  "channelData": {"tenant": {"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}
}$json$), 'inserted', 'a channel message inserts its own reference');
SELECT is((SELECT row(r.microsoft_user_id, r.aad_tenant_id)::text FROM msteams.conversation_references AS r
            WHERE r.conversation_type = 'channel'),
          row('29:2user', '72f988bf-86f1-41af-91ab-2d7cd011db47')::text,
          'from.id stands in for a missing aadObjectId; channelData.tenant.id for a missing conversation.tenantId');

-- The bot is removed from the personal conversation: stale.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', $json$
{
  "type": "conversationUpdate", "id": "u1", "timestamp": "2025-01-10T12:00:00Z",
  "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams",
  "from": {"id": "29:1user", "aadObjectId": "aad-ada"},
  "conversation": {"conversationType": "personal", "id": "a:1chat"},
  "recipient": {"id": "28:bot-app-id"},
  "membersRemoved": [{"id": "28:bot-app-id"}]
}$json$), 'stale', 'a conversationUpdate removing the bot (recipient.id) marks the conversation stale');
SELECT is((SELECT row(r.status, r.stale_reason)::text FROM msteams.conversation_references AS r
            WHERE r.conversation_id = 'a:1chat'),
          row('stale', 'bot_removed')::text, 'the reference is stale with reason bot_removed');

-- A member other than the bot leaving is just an activity.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', $json$
{
  "type": "conversationUpdate", "id": "u2", "timestamp": "2025-01-10T12:30:00Z",
  "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams",
  "from": {"id": "29:2user"},
  "conversation": {"conversationType": "channel", "id": "19:abc@thread.tacv2;messageid=1"},
  "recipient": {"id": "28:bot-app-id"},
  "membersRemoved": [{"id": "29:someone-else"}]
}$json$), 'refreshed', 'a conversationUpdate removing someone else refreshes, it does not mark stale');

-- Installing the app again revives.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', jsonb_build_object(
    'type', 'installationUpdate', 'action', 'add', 'id', 'i1', 'timestamp', now(),   -- the removal above was marked at now()
    'serviceUrl', 'https://smba.trafficmanager.net/emea/', 'channelId', 'msteams',
    'from', jsonb_build_object('id', '29:1user', 'aadObjectId', 'aad-ada'),
    'conversation', jsonb_build_object('conversationType', 'personal', 'id', 'a:1chat'),
    'recipient', jsonb_build_object('id', '28:bot-app-id'))),
    'revived', 'installationUpdate add after the removal revives the reference');
SELECT is((SELECT row(r.status, r.service_url)::text FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:1chat'),
          row('active', 'https://smba.trafficmanager.net/emea/')::text, 'active again, with the new service URL');

-- Uninstalling: stale for every user of the conversation.
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
    '{"type": "installationUpdate", "action": "remove", "conversation": {"id": "a:1chat", "conversationType": "personal"},
      "recipient": {"id": "28:bot-app-id"}, "from": {"id": "29:1user"}}'),
    'stale', 'installationUpdate remove marks the conversation stale');
SELECT is((SELECT r.stale_reason FROM msteams.conversation_references AS r WHERE r.conversation_id = 'a:1chat'),
          'app_uninstalled', 'with reason app_uninstalled');
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
    '{"type": "installationUpdate", "action": "remove-upgrade", "conversation": {"id": "a:never-seen"}}'),
    'stale', 'remove-upgrade is a removal too, also for a conversation never captured');

-- Removals handled late or out of order, in the channel conversation (last activity 12:30).
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
    '{"type": "conversationUpdate", "timestamp": "2025-01-10T12:15:00Z", "recipient": {"id": "28:bot-app-id"},
      "conversation": {"id": "19:abc@thread.tacv2;messageid=1"}, "membersRemoved": [{"id": "28:bot-app-id"}]}'),
    'stale', 'a removal older than the last activity is still answered stale');
SELECT is((SELECT r.status FROM msteams.conversation_references AS r WHERE r.conversation_type = 'channel'), 'active',
          'but leaves the reference active: a later activity already happened (handled out of order)');
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
    '{"type": "conversationUpdate", "timestamp": "2025-01-10T13:00:00Z", "recipient": {"id": "28:bot-app-id"},
      "conversation": {"id": "19:abc@thread.tacv2;messageid=1"}, "membersRemoved": [{"id": "28:bot-app-id"}]}'),
    'stale', 'a removal newer than the last activity marks the reference stale');
SELECT is((SELECT r.stale_at FROM msteams.conversation_references AS r WHERE r.conversation_type = 'channel'),
          '2025-01-10 13:00:00+00'::timestamptz, 'stale_at is the removal activity''s timestamp, not the time it was handled');
SELECT is(msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', $json$
{
  "type": "message", "id": "m3", "timestamp": "2025-01-10T13:00:05Z",
  "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams", "from": {"id": "29:2user"},
  "conversation": {"conversationType": "channel", "id": "19:abc@thread.tacv2;messageid=1"}, "recipient": {"id": "28:bot-app-id"}
}$json$), 'revived', 'an activity seconds after the removal revives it, however late both were handled');

-- Errors.
SELECT throws_ok($$ SELECT msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', NULL) $$,
                 '22004', 'capture_conversation_reference: activity must not be null', 'a null activity is refused');
SELECT throws_ok($$ SELECT msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1', '[1]') $$,
                 '22023', 'capture_conversation_reference: activity is a JSON array, not an object', 'an activity that is not an object is refused');
SELECT throws_ok($$ SELECT msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
                   '{"type": "message", "serviceUrl": "https://x.example/"}') $$,
                 '22023', 'capture_conversation_reference: activity.conversation.id is missing',
                 'an activity without conversation.id is refused');
SELECT throws_ok($$ SELECT msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
                   '{"type": "message", "conversation": {"id": "c", "conversationType": "personal"}, "from": {"id": "29:u"},
                     "serviceUrl": "https://x.example/", "timestamp": "yesterday-ish"}') $$,
                 '22023', 'capture_conversation_reference: activity.timestamp is not a timestamp', 'a bad timestamp is refused');
SELECT throws_ok($$ SELECT msteams.capture_conversation_reference('00000000-0000-0000-0000-0000000000a1',
                   '{"type": "message", "conversation": {"id": "c", "conversationType": "personal"}, "from": {"id": "29:u"}}') $$,
                 '22004', 'upsert_conversation_reference: service_url must not be null',
                 'a message without serviceUrl is refused, naming service_url');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
