-- mark_conversation_stale: a conversation the bot can no longer post to.
BEGIN;
SELECT plan(14);

SELECT has_function('msteams', 'mark_conversation_stale', ARRAY['uuid', 'text', 'text', 'text']);
SELECT is_definer('msteams', 'mark_conversation_stale', ARRAY['uuid', 'text', 'text', 'text']);
SELECT function_privs_are('msteams', 'mark_conversation_stale', ARRAY['uuid', 'text', 'text', 'text'],
                          'msteams_app', ARRAY['EXECUTE'], 'the app role marks conversations stale');

INSERT INTO msteams.conversation_references (tenant, microsoft_user_id, conversation_id, service_url, conversation_type)
VALUES ('00000000-0000-0000-0000-0000000000a1', 'u1', '19:group@thread.v2', 'https://smba.trafficmanager.net/amer/', 'groupChat'),
       ('00000000-0000-0000-0000-0000000000a1', 'u2', '19:group@thread.v2', 'https://smba.trafficmanager.net/amer/', 'groupChat'),
       ('00000000-0000-0000-0000-0000000000a1', 'u3', '19:group@thread.v2', 'https://smba.trafficmanager.net/amer/', 'groupChat'),
       ('00000000-0000-0000-0000-0000000000a1', 'u1', 'a:personal', 'https://smba.trafficmanager.net/amer/', 'personal'),
       ('00000000-0000-0000-0000-0000000000b2', 'u1', '19:group@thread.v2', 'https://smba.trafficmanager.net/amer/', 'groupChat');

SET LOCAL ROLE msteams_app;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT is(msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', '19:group@thread.v2',
                                          'conversation_blocked', p_microsoft_user_id => 'u3'),
          1, 'with a user, only that user''s reference is marked');
SELECT is(msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', '19:group@thread.v2'),
          2, 'without a user, every still active reference of the conversation is marked');
SELECT results_eq(
    $$ SELECT r.microsoft_user_id, r.status, r.stale_reason, r.stale_at IS NOT NULL
         FROM msteams.conversation_references AS r ORDER BY r.conversation_id, r.microsoft_user_id $$,
    $$ VALUES ('u1', 'stale', 'bot_removed', true), ('u2', 'stale', 'bot_removed', true),
              ('u3', 'stale', 'conversation_blocked', true), ('u1', 'active', NULL, false) $$,
    'the reason defaults to bot_removed; a reference already stale keeps its first reason; other conversations are untouched');
SELECT is(msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', '19:group@thread.v2'), 0,
          'marking again changes nothing and returns 0');
SELECT is(msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', '19:unknown@thread.v2'), 0,
          'an unknown conversation returns 0');

SELECT throws_ok($$ SELECT msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000b2', '19:group@thread.v2') $$,
                 '42501', 'mark_conversation_stale: tenant 00000000-0000-0000-0000-0000000000b2 does not match msteams.tenant',
                 'another tenant than msteams.tenant is refused');
SELECT throws_ok($$ SELECT msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', NULL) $$,
                 '22004', 'mark_conversation_stale: conversation_id must not be null', 'a null conversation id is refused');
SELECT throws_ok($$ SELECT msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', 'c', 'Bot Removed!') $$,
                 '22023', 'mark_conversation_stale: reason is not a snake_case word', 'a reason that is not snake_case is refused');
SELECT throws_ok($$ SELECT msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', 'c', NULL) $$,
                 '22004', NULL, 'a null reason is refused');
RESET ROLE;

SELECT is((SELECT r.status FROM msteams.conversation_references AS r
            WHERE r.tenant = '00000000-0000-0000-0000-0000000000b2'), 'active', 'the other tenant''s reference is untouched');

SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT msteams.mark_conversation_stale('00000000-0000-0000-0000-0000000000a1', 'c') $$,
                 '42501', NULL, 'the runner role cannot call it directly');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
