-- complete_deliveries / complete_delivery: one ledger row per attempt, retries, finals, leases.
BEGIN;
SELECT plan(27);
\ir fixtures/tenants.sql

SET LOCAL ROLE msteams_app;
SELECT delivery_id AS ok_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u1@a1.example', :feed, 'n-ok') \gset
SELECT delivery_id AS retry_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u2@a1.example', :feed, 'n-retry') \gset
SELECT delivery_id AS dead_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u3@a1.example', :feed, 'n-dead') \gset
SELECT delivery_id AS bot_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'chat', 'a:personal-1', :botmsg, 'n-bot') \gset
RESET ROLE;

SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE c ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-1', 10);
RESET ROLE;
SELECT lease_id AS ok_lease FROM c WHERE delivery_id = :'ok_id' \gset
SELECT lease_id AS retry_lease FROM c WHERE delivery_id = :'retry_id' \gset
SELECT lease_id AS dead_lease FROM c WHERE delivery_id = :'dead_id' \gset
SELECT lease_id AS bot_lease FROM c WHERE delivery_id = :'bot_id' \gset

SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE r ON COMMIT DROP AS
SELECT * FROM msteams.complete_deliveries('runner-1', jsonb_build_array(
    jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', :'ok_id'::bigint, 'lease_id', :'ok_lease',
                       'status', 'sent', 'status_code', 204, 'provider_request_id', 'req-1', 'latency_ms', 120),
    jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', :'retry_id'::bigint, 'lease_id', :'retry_lease',
                       'status', 'failed', 'status_code', 429, 'error_code', 'graph_throttled',
                       'error_message', 'Too many requests', 'retry_after_seconds', 120),
    jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', :'dead_id'::bigint, 'lease_id', :'dead_lease',
                       'status', 'failed', 'status_code', 404, 'error_code', 'graph_not_found'),
    jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', :'bot_id'::bigint, 'lease_id', :'bot_lease',
                       'status', 'failed', 'status_code', 403, 'error_code', 'bot_not_in_conversation')));
RESET ROLE;

SELECT is((SELECT outcome FROM r WHERE delivery_id = :'ok_id'), 'final', 'a sent delivery is final');
SELECT is((SELECT count(*)::int FROM msteams.outbox WHERE delivery_id = :'ok_id'), 0, '… and leaves the outbox with its payload');
SELECT is((SELECT row(status, final, attempt_number, status_code, provider_request_id, latency_ms, sent_at IS NOT NULL)::text
             FROM msteams.notification_deliveries WHERE delivery_id = :'ok_id'),
          '(sent,t,1,204,req-1,120,t)', 'one ledger row records the attempt');
SELECT is((SELECT idempotency_key FROM msteams.notification_deliveries WHERE delivery_id = :'ok_id'),
          encode(sha256(convert_to('n-ok|00000000-0000-0000-0000-0000000000a1|user_activity|u1@a1.example|1', 'UTF8')), 'hex'),
          'the ledger key is SHA-256 of internal_notification_id|tenant|destination_type|destination_id|attempt_number');

SELECT is((SELECT outcome FROM r WHERE delivery_id = :'retry_id'), 'retry_scheduled', 'a retryable failure is scheduled again');
SELECT ok((SELECT available_at >= now() + interval '120 seconds' AND locked_by IS NULL AND last_error_code = 'graph_throttled'
             FROM msteams.outbox WHERE delivery_id = :'retry_id'), 'never sooner than Retry-After, and the lease is released');
SELECT is((SELECT row(status, final, retryable, retry_at IS NOT NULL)::text FROM msteams.notification_deliveries
            WHERE delivery_id = :'retry_id'), '(failed,f,t,t)', 'the retried attempt is a non-final failed ledger row');

SELECT is((SELECT outcome FROM r WHERE delivery_id = :'dead_id'), 'final', 'a non-retryable failure is final');
SELECT is((SELECT row(final_status, error_code, attempt_count)::text FROM msteams.dead_letter_payloads WHERE delivery_id = :'dead_id'),
          '(failed,graph_not_found,1)', 'a failed delivery keeps its payload as a dead letter');

SELECT is((SELECT status FROM msteams.conversation_references WHERE conversation_id = 'a:personal-1'), 'stale',
          'bot_not_in_conversation marks the conversation reference stale');

-- The 429 paused the tenant's Graph scope for every runner: a new Graph delivery queues behind it.
SELECT ok((SELECT paused_until >= now() + interval '120 seconds' FROM msteams.throttle_pauses
            WHERE tenant = '00000000-0000-0000-0000-0000000000a1' AND scope = 'graph'),
          'a 429 with Retry-After pauses the tenant''s Graph scope durably');
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS behind_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u9@a1.example', :feed, 'n-behind') \gset
RESET ROLE;
SELECT ok((SELECT available_at >= now() + interval '119 seconds' FROM msteams.outbox WHERE delivery_id = :'behind_id'),
          'a delivery enqueued during the pause is due only after it');
SELECT is((SELECT count(*)::int FROM msteams.outbox WHERE tenant = '00000000-0000-0000-0000-0000000000a1'
            AND transport = 'bot' AND available_at > now() + interval '100 seconds'), 0, 'other scopes are not paused');
DELETE FROM msteams.outbox WHERE delivery_id = :'behind_id';
DELETE FROM msteams.throttle_pauses;                     -- the rest of this file is about other things

-- A repeated report for the same lease changes nothing and says so.
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT outcome FROM msteams.complete_delivery('runner-1', '00000000-0000-0000-0000-0000000000a1', :'ok_id', :'ok_lease', 'sent')),
          'lease_lost', 'a second report of a finished attempt is lease_lost');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries WHERE delivery_id = :'ok_id'), 1, '… and writes no second ledger row');

-- Attempts exhausted: the last retryable failure is final, with its code.
UPDATE msteams.outbox SET available_at = now(), attempt_count = max_attempts - 1 WHERE delivery_id = :'retry_id';
SET LOCAL ROLE msteams_runner;
SELECT lease_id AS last_lease, attempt_number AS last_attempt FROM msteams.claim_deliveries('runner-2', 10) WHERE delivery_id = :'retry_id' \gset
SELECT is((SELECT outcome FROM msteams.complete_delivery('runner-2', '00000000-0000-0000-0000-0000000000a1', :'retry_id', :'last_lease',
           'failed', 503, 'graph_server_error', 'Service Unavailable')), 'final', 'the last allowed attempt failing is final');
RESET ROLE;
SELECT is((SELECT row(error_code, final)::text FROM msteams.notification_deliveries WHERE delivery_id = :'retry_id'
            ORDER BY created_at DESC, ledger_id DESC LIMIT 1), '(graph_server_error,t)', 'the dead letter keeps the last code');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries WHERE delivery_id = :'retry_id'), 2, 'one ledger row per attempt');

-- A retry that could only happen after expiry is not scheduled.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS exp_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u4@a1.example', :feed, 'n-exp', p_expires_at => now() + interval '5 seconds') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT lease_id AS exp_lease FROM msteams.claim_deliveries('runner-3', 10) WHERE delivery_id = :'exp_id' \gset
SELECT is((SELECT outcome FROM msteams.complete_delivery('runner-3', '00000000-0000-0000-0000-0000000000a1', :'exp_id', :'exp_lease',
           'failed', 429, 'graph_throttled', NULL, NULL, NULL, interval '60 seconds')), 'final',
          'a retry that would start after the expiry is not scheduled');

-- A skip reported by the runner is final.
RESET ROLE;
DELETE FROM msteams.throttle_pauses;                     -- that 429 paused the scope again
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS skip_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'u5@a1.example', :feed, 'n-skip') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT lease_id AS skip_lease FROM msteams.claim_deliveries('runner-4', 10) WHERE delivery_id = :'skip_id' \gset
SELECT is((SELECT outcome FROM msteams.complete_delivery('runner-4', '00000000-0000-0000-0000-0000000000a1', :'skip_id', :'skip_lease',
           'skipped', NULL, 'expired')), 'final', 'a skipped outcome is final');

-- Validation: nothing written on a bad batch.
SELECT throws_ok(format($$ SELECT * FROM msteams.complete_deliveries('runner-4', %L) $$,
    jsonb_build_array(jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', 1,
        'lease_id', gen_random_uuid(), 'status', 'exploded'))), '22023',
    'complete_deliveries: outcomes[1].status is not one of sent, delivered, failed, skipped', 'an unknown status is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.complete_deliveries('runner-4', %L) $$,
    jsonb_build_array(jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', 1,
        'lease_id', gen_random_uuid(), 'status', 'failed', 'error_code', 'kaboom'))), '22023', NULL,
    'a code outside the taxonomy is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.complete_deliveries('runner-4', %L) $$,
    jsonb_build_array(jsonb_build_object('tenant', '00000000-0000-0000-0000-0000000000a1', 'delivery_id', 1,
        'lease_id', gen_random_uuid(), 'status', 'sent', 'status_code', 700))), '22023', NULL,
    'an HTTP status outside 100-599 is refused');
SELECT throws_ok($$ SELECT * FROM msteams.complete_deliveries('runner-4', '{}') $$, '22023', NULL, 'outcomes must be an array');
RESET ROLE;

SET LOCAL ROLE msteams_app;
SELECT throws_ok($$ SELECT * FROM msteams.complete_deliveries('x', '[]') $$, '42501', NULL, 'the app role cannot complete');
RESET ROLE;
SELECT ok(NOT has_function_privilege('msteams_reader', 'msteams.complete_delivery(text, uuid, bigint, uuid, text, integer, text, text, text, text, interval, integer)', 'EXECUTE'),
          'the reader role cannot complete');
SELECT ok((SELECT bool_and(retryable = (error_code IN ('graph_throttled', 'graph_server_error', 'transient', 'bot_throttled',
              'bot_server_error', 'bot_precondition_failed', 'webhook_throttled', 'webhook_server_error')))
             FROM msteams.error_codes), 'retryable codes are exactly those Microsoft says to retry (and transient)');

SELECT * FROM finish();
ROLLBACK;
