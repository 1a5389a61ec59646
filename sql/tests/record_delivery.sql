-- record_delivery: a host that sends itself records each attempt's terminal outcome, once.
BEGIN;
SELECT plan(36);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'record_delivery',
    ARRAY['uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'integer', 'integer', 'text', 'text', 'text', 'text', 'text', 'text',
          'timestamp with time zone']);

SET LOCAL ROLE msteams_app;
SELECT delivery_id AS rd_id, recorded AS rd_recorded FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-1',
    'assignment', 'high', 'user_activity', 'u1@a1.example', 'sent', p_status_code => 201, p_provider_request_id => 'req-9',
    p_correlation_id => 'job-7', p_event_type => 'ticket_assigned', p_sent_at => '2030-05-06 07:08:09+00') \gset
SELECT is(:'rd_recorded'::boolean, true, 'the first record of an attempt is recorded');
RESET ROLE;
SELECT is((SELECT row(d.status, d.final, d.attempt_number, d.status_code, d.provider_request_id, d.correlation_id, d.event_type,
                      d.sent_at = '2030-05-06 07:08:09+00', d.error_code, d.retryable)::text
             FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :rd_id),
          '(sent,t,1,201,req-9,job-7,ticket_assigned,t,,)', 'one final ledger row with what the host reported');
SELECT is((SELECT d.idempotency_key FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :rd_id),
          encode(sha256(convert_to('host-1|00000000-0000-0000-0000-0000000000a1|user_activity|u1@a1.example|1', 'UTF8')), 'hex'),
          'the ledger key is SHA-256 of internal_notification_id|tenant|destination_type|destination_id|attempt_number');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.internal_notification_id = 'host-1'), 0,
          'nothing is queued for the runner');

-- The same attempt again: a no-op that returns the same delivery.
SET LOCAL ROLE msteams_app;
SELECT is((SELECT row(r.delivery_id = :rd_id, r.recorded)::text FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1',
           'host-1', 'assignment', 'high', 'user_activity', 'u1@a1.example', 'failed', p_error_code => 'transient') AS r),
          '(t,f)', 'the same attempt again: recorded = false and the same delivery_id');
RESET ROLE;
SELECT is((SELECT string_agg(d.status, ',') FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'host-1'),
          'sent', '… and the first outcome stands, no second row');

-- A second attempt of the same destination is another ledger row of the same delivery.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS rd2_id, recorded AS rd2_recorded FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1',
    'host-1', 'assignment', 'high', 'user_activity', 'u1@a1.example', 'failed', 2, 429, 'graph_throttled', 'Too Many Requests') \gset
SELECT is(:'rd2_recorded'::boolean, true, 'attempt 2 is recorded');
RESET ROLE;
SELECT is((SELECT row(d.attempt_number, d.status, d.error_code, d.retryable, d.error_message, d.sent_at IS NULL)::text
             FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id = 'host-1' AND d.attempt_number = 2),
          '(2,failed,graph_throttled,t,"Too Many Requests",t)', 'a failure carries its code, whether it is retryable, and no sent_at');
SELECT is(:'rd2_id'::bigint, :'rd_id'::bigint, 'attempt 2 of the same destination belongs to the same delivery');

-- A destination enqueued earlier: the host's record reuses that delivery's id.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS enq_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'chat', 'a:personal-1', :botmsg, 'host-2') \gset
SELECT is((SELECT r.delivery_id FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-2', 'escalation',
           'critical', 'chat', 'a:personal-1', 'delivered', p_provider_message_id => 'act-1') AS r), :'enq_id'::bigint,
          'a record for an enqueued destination reuses the enqueued delivery''s id');
SELECT isnt((SELECT r.delivery_id FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-2', 'escalation',
           'critical', 'chat', 'a:personal-2', 'sent') AS r), :'enq_id'::bigint,
          'another destination of the same notification is another delivery');
RESET ROLE;
SELECT is((SELECT row(d.status, d.delivered_at IS NOT NULL, d.provider_message_id)::text FROM msteams.notification_deliveries AS d
            WHERE d.delivery_id = :enq_id), '(delivered,t,act-1)', 'a delivered record sets delivered_at');

-- A recorded send can be marked delivered like any other.
SET LOCAL ROLE msteams_app;
SELECT is(msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', :rd_id), true, 'mark_delivered accepts a recorded send');

-- A host that sent a Graph activity feed notification to a team records it under the team id, a
-- destination enqueue_notification accepts for a channel (and the hint names): so must record_delivery.
SELECT lives_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-4', 'assignment', 'high',
    'channel', '3fa85f64-5717-4562-b3fc-2c963f66afa6', 'sent') $$,
    'a channel destination given as a team id (Graph activity feed) is recorded');

-- A skip with its code.
SELECT is((SELECT r.recorded FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-3', 'assignment', 'low',
           'user_activity', 'u3@a1.example', 'skipped', p_error_code => 'user_not_mapped') AS r), true, 'a skip is recorded');

RESET ROLE;
SELECT count(*) AS keys_before FROM msteams.idempotency_keys AS k WHERE k.scope = 'delivery' \gset
SET LOCAL ROLE msteams_app;

-- Validation: status and error_code go together.
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent', p_error_code => 'transient') $$, '22023',
    'record_delivery: error_code must be a code of msteams.error_codes for failed or skipped, and null otherwise',
    'sent with an error code is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'failed') $$, '22023', NULL, 'failed without an error code is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'skipped', p_error_code => 'it_broke') $$, '22023', NULL,
    'an error code outside the taxonomy is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'bounced') $$, '22023', 'record_delivery: status ''bounced'' is not known',
    'an unknown status is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', NULL) $$, '22004', NULL, 'a null status is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent', p_status_code => 99) $$, '22023', 'record_delivery: status_code is not an HTTP status',
    'an HTTP status below 100 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent', p_status_code => 600) $$, '22023', NULL, 'an HTTP status above 599 is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment',
    'high', 'user_activity', 'u9@a1.example', 'failed', p_error_code => 'unknown', p_error_message => %L) $$, repeat('e', 1025)),
    '22023', 'record_delivery: error_message is longer than 1024 characters', 'an error message over 1024 characters is refused');
SELECT lives_ok(format($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-8', 'assignment',
    'high', 'user_activity', 'u8@a1.example', 'failed', p_error_code => 'unknown', p_error_message => %L) $$, repeat('e', 1024)),
    '… but exactly 1024 is accepted');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent', 0) $$, '22023', 'record_delivery: attempt_number must be at least 1',
    'attempt 0 is refused');
-- The destination and labels are checked as an enqueue's.
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'webhook', 'https://prod-01.logic.azure.com/workflows/x?sig=LEAKME', 'sent') $$, '22023',
    'record_delivery: destination_id must be the name of a webhook registered with set_webhook, never its URL',
    'a webhook URL as destination is refused, without echoing it');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'urgent', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '22023', 'record_delivery: category ''urgent'' is not known',
    'an unknown category is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', '', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '22004', 'record_delivery: internal_notification_id must not be empty',
    'an empty internal_notification_id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery(NULL, 'host-9', 'assignment', 'high', 'user_activity', 'u9@a1.example', 'sent') $$,
    '22004', 'record_delivery: tenant must not be null', 'a null tenant is refused');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.internal_notification_id IN ('host-9', '')), 0,
          'refused calls recorded nothing');
SELECT is((SELECT count(*)::int FROM msteams.idempotency_keys AS k WHERE k.scope = 'delivery'), :keys_before::int + 1,
          'refused calls left no delivery key (the one 1024-character message was recorded)');

SET LOCAL ROLE msteams_reader;
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '42501', NULL, 'the reader role cannot record');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '42501', NULL, 'the runner role cannot record');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.record_delivery('00000000-0000-0000-0000-0000000000a1', 'host-9', 'assignment', 'high',
    'user_activity', 'u9@a1.example', 'sent') $$, '42501', NULL, 'the admin role cannot record');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
