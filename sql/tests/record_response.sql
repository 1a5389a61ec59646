-- record_response: acknowledge / escalate a sent delivery, retry / discard a failed one; always audited, once per invoke.
BEGIN;
SELECT plan(53);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'record_response',
    ARRAY['uuid', 'bigint', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'timestamp with time zone']);

-- Deliveries in every state, made the real way: enqueue (app) → claim → complete (runner).
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS sent_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'chat', 'a:personal-1', :botmsg, 'rr-sent') \gset
SELECT delivery_id AS esc_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'sla_risk', 'high',
    'user_activity', 'esc@a1.example', :feed, 'rr-esc') \gset
SELECT delivery_id AS dead_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'dead@a1.example', :feed, 'rr-dead') \gset
SELECT delivery_id AS dead2_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'medium',
    'webhook', 'sre-room', :card, 'rr-dead2') \gset
SELECT delivery_id AS retrying_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'low',
    'user_activity', 'busy@a1.example', :feed, 'rr-retrying') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE claimed ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-1', 10);
SELECT results_eq($$ SELECT r.delivery_id, r.outcome FROM msteams.complete_deliveries('runner-1', (SELECT jsonb_agg(jsonb_build_object(
        'tenant', c.tenant, 'delivery_id', c.delivery_id, 'lease_id', c.lease_id,
        'status', CASE WHEN c.delivery_id IN ($$ || :sent_id || ',' || :esc_id || $$) THEN 'sent' ELSE 'failed' END,
        'error_code', CASE WHEN c.delivery_id = $$ || :dead_id || $$ THEN 'graph_not_found'
                           WHEN c.delivery_id = $$ || :dead2_id || $$ THEN 'webhook_rejected'
                           WHEN c.delivery_id = $$ || :retrying_id || $$ THEN 'graph_throttled' END)) FROM claimed AS c)) AS r
        ORDER BY r.delivery_id $$,
    format('VALUES (%s::bigint, %L), (%s, %L), (%s, %L), (%s, %L), (%s, %L)', :sent_id, 'final', :esc_id, 'final', :dead_id, 'final',
           :dead2_id, 'final', :retrying_id, 'retry_scheduled'),
    'setup: two sent, two failed for good, one waiting for a retry');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS queued_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'critical',
    'user_activity', 'later@a1.example', :feed, 'rr-queued') \gset
SELECT delivery_id AS skipped_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'chat', 'aaaaaaaa-0000-0000-0000-0000000000ff', :botmsg, 'rr-skipped') \gset
RESET ROLE;

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT set_eq($$ SELECT u.delivery_id FROM msteams.unacknowledged_critical AS u $$, ARRAY[:sent_id, :esc_id]::bigint[],
              'before any response, both sent critical/high deliveries are unacknowledged');
RESET msteams.tenant;
RESET ROLE;

-- acknowledge
SET LOCAL ROLE msteams_app;
SELECT audit_id AS ack_audit, outcome AS ack_outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :sent_id,
    'acknowledge', 'user-1', p_activity_id => 'invoke-1', p_correlation_id => 'corr-1',
    p_responded_at => '2030-01-01 10:00:00+00') \gset
SELECT is(:'ack_outcome'::text, 'acknowledged', 'acknowledging a sent delivery: outcome acknowledged');
RESET ROLE;
SELECT is((SELECT row(d.responded_at = '2030-01-01 10:00:00+00', d.response_action, d.responded_by)::text
             FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id AND d.status = 'sent'),
          '(t,acknowledge,user-1)', 'the sent ledger row gets responded_at, response_action and responded_by');
SELECT is((SELECT row(e.action_id, e.actor_user_id, e.surface, e.result_status, e.target_type, e.target_id, e.delivery_id,
                      e.activity_id, e.correlation_id, length(e.payload_hash))::text
             FROM msteams.audit_events AS e WHERE e.audit_id = :ack_audit),
          format('(acknowledge,user-1,bot,success,delivery,%s,%s,invoke-1,corr-1,64)', :sent_id, :sent_id),
          'an audit event records the action, the actor, the delivery as target, and a 64-hex payload hash');
SELECT is((SELECT e.payload_hash FROM msteams.audit_events AS e WHERE e.audit_id = :ack_audit),
          encode(sha256(convert_to(msteams.canonical_json(jsonb_build_object('delivery_id', :sent_id, 'action', 'acknowledge')), 'UTF8')), 'hex'),
          'without p_input, the hash is of {delivery_id, action}');

SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT set_eq($$ SELECT u.delivery_id FROM msteams.unacknowledged_critical AS u $$, ARRAY[:esc_id]::bigint[],
              'unacknowledged_critical no longer lists the acknowledged delivery');
RESET msteams.tenant;
RESET ROLE;

-- The same invoke again (Teams retries): the first audit event, outcome duplicate, nothing changed.
CREATE TEMP TABLE before_dup ON COMMIT DROP AS
SELECT (SELECT count(*) FROM msteams.audit_events) AS events,
       (SELECT d.responded_at FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id) AS responded_at;
SET LOCAL ROLE msteams_app;
SELECT is((SELECT row(r.audit_id = :ack_audit, r.outcome)::text FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1',
           :sent_id, 'acknowledge', 'user-2', p_activity_id => 'invoke-1', p_responded_at => '2030-01-01 11:00:00+00') AS r),
          '(t,duplicate)', 'the same invoke again returns the first audit_id with outcome duplicate');
RESET ROLE;
SELECT is((SELECT row((SELECT count(*) FROM msteams.audit_events),
                      (SELECT d.responded_at FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id),
                      (SELECT d.responded_by FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id))::text),
          (SELECT row(b.events, b.responded_at, 'user-1')::text FROM before_dup AS b),
          '… and changes nothing: no audit event, responded_at and responded_by as they were');

-- escalate
SET LOCAL ROLE msteams_app;
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :esc_id, 'escalate', 'user-3',
           p_surface => 'tab', p_input => '{"reason": "no answer"}') AS r), 'escalated', 'escalating a sent delivery: escalated');
RESET ROLE;
SELECT is((SELECT row(d.response_action, d.responded_by)::text FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :esc_id),
          '(escalate,user-3)', 'the escalation is on the ledger row');
SELECT is((SELECT row(e.action_id, e.surface, e.payload_hash)::text FROM msteams.audit_events AS e
            WHERE e.delivery_id = :esc_id),
          format('(escalate,tab,%s)', encode(sha256(convert_to(msteams.canonical_json('{"reason": "no answer"}'), 'UTF8')), 'hex')),
          'the audit event hashes the host''s p_input');
SET LOCAL ROLE msteams_reader;
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000a1';
SELECT is_empty($$ SELECT u.delivery_id FROM msteams.unacknowledged_critical AS u $$,
                'an escalated delivery was responded to: unacknowledged_critical is empty');
RESET msteams.tenant;
RESET ROLE;

-- acknowledge / escalate need a sent delivery.
SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'acknowledge', 'user-1') $$,
    :queued_id), '55000', format('record_response: delivery %s was not sent, so it cannot be acknowledged', :queued_id),
    'acknowledging a delivery still queued: 55000');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'escalate', 'user-1') $$,
    :dead_id), '55000', format('record_response: delivery %s was not sent, so it cannot be escalated', :dead_id),
    'escalating a failed delivery: 55000');
SELECT throws_ok($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', -7, 'acknowledge', 'user-1') $$,
    'P0002', 'record_response: delivery -7 does not exist for this tenant', 'an unknown delivery: P0002');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000b2', %s, 'acknowledge', 'user-1') $$,
    :esc_id), 'P0002', NULL, 'another tenant''s delivery is unknown: P0002');

-- retry: a dead letter goes back to the outbox with its kept payload and the same delivery id.
SELECT audit_id AS retry_audit, outcome AS retry_outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1',
    :dead_id, 'retry', 'user-4', p_activity_id => 'invoke-2') \gset
SELECT is(:'retry_outcome'::text, 'requeued', 'retrying a failed delivery: requeued');
RESET ROLE;
SELECT is((SELECT row(o.payload = :feed::jsonb, o.locked_by, o.available_at <= now(), o.attempt_count, o.internal_notification_id)::text
             FROM msteams.outbox AS o WHERE o.delivery_id = :dead_id),
          '(t,,t,1,rr-dead)', 'the same delivery id is back in the outbox, due now, with its kept payload and its attempt count');
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads AS p WHERE p.delivery_id = :dead_id), 0, 'the dead letter is gone');
SELECT is((SELECT row(e.action_id, e.delivery_id)::text FROM msteams.audit_events AS e WHERE e.audit_id = :retry_audit),
          format('(retry,%s)', :dead_id), 'the retry is audited');
SELECT is((SELECT d.response_action FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :dead_id), 'retry',
          'the failed ledger row records the retry response');
SET LOCAL ROLE msteams_runner;
SELECT is((SELECT row(c.attempt_number, c.payload = :feed::jsonb)::text FROM msteams.claim_deliveries('runner-2', 10) AS c
            WHERE c.delivery_id = :dead_id), '(2,t)', 'a runner claims it again as the next attempt, with the payload');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :dead_id, 'retry', 'user-4',
           p_activity_id => 'invoke-2') AS r), 'duplicate', 'the same retry invoke again is a duplicate …');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.delivery_id = :dead_id), 1, '… and queues nothing twice');
SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'retry', 'user-4') $$,
    :sent_id), '55000', format('record_response: delivery %s has not failed, so there is nothing to retry', :sent_id),
    'retrying a sent delivery: 55000');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'retry', 'user-4') $$,
    :dead_id), '55000', NULL, 'retrying a delivery already back in the outbox: 55000');
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :skipped_id, 'retry', 'user-4') AS r),
          'still_skipped', 'retrying a skip that still cannot be attempted: still_skipped');
RESET ROLE;
SELECT is((SELECT row(p.final_status, p.error_code, p.payload = :botmsg::jsonb)::text FROM msteams.dead_letter_payloads AS p
            WHERE p.delivery_id = :skipped_id), '(skipped,user_not_mapped,t)', '… its payload stays parked');

-- discard a dead letter: the payload goes, nothing is queued.
SET LOCAL ROLE msteams_app;
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :dead2_id, 'discard', 'user-5',
           p_activity_id => 'invoke-3') AS r), 'discarded', 'discarding a failed delivery: discarded');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads AS p WHERE p.delivery_id = :dead2_id), 0, 'its payload is removed');
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.delivery_id = :dead2_id), 0, 'nothing is queued');
SELECT is((SELECT string_agg(row(d.status, d.error_code, d.response_action)::text, ';') FROM msteams.notification_deliveries AS d
            WHERE d.delivery_id = :dead2_id), '(failed,webhook_rejected,discard)', 'the failed ledger row records the discard');
SET LOCAL ROLE msteams_app;
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :dead2_id, 'discard', 'user-5',
           p_activity_id => 'invoke-3') AS r), 'duplicate', 'the same discard invoke again is a duplicate, not an error');

-- discard a delivery still being retried: it leaves the outbox and gets a final skipped row, code discarded.
SELECT is((SELECT r.outcome FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', :retrying_id, 'discard', 'user-6') AS r),
          'discarded', 'discarding a delivery waiting for a retry: discarded');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.outbox AS o WHERE o.delivery_id = :retrying_id), 0, 'it leaves the outbox');
SELECT results_eq($$ SELECT d.attempt_number::int, d.status, d.final, d.error_code, d.response_action
                       FROM msteams.notification_deliveries AS d WHERE d.delivery_id = $$ || :retrying_id || $$
                      ORDER BY d.attempt_number $$,
                  $$ VALUES (1, 'failed', false, 'graph_throttled', NULL::text), (2, 'skipped', true, 'discarded', 'discard') $$,
                  'the ledger ends with a final skipped row, error_code discarded');
SELECT is((SELECT count(*)::int FROM msteams.dead_letter_payloads AS p WHERE p.delivery_id = :retrying_id), 0,
          'a discarded delivery keeps no payload');
SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'discard', 'user-6') $$,
    :sent_id), '55000', format('record_response: delivery %s was sent, so there is nothing to discard', :sent_id),
    'discarding a sent delivery: 55000');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'discard', 'user-6') $$,
    :retrying_id), '55000', format('record_response: delivery %s is already closed, so there is nothing to discard', :retrying_id),
    'discarding a delivery already discarded: 55000, saying it is closed');
RESET ROLE;
-- A delivery being sent right now cannot be discarded: the attempt may already have reached Microsoft.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS inflight_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'inflight@a1.example', :feed, 'n-inflight') \gset
RESET ROLE;
UPDATE msteams.outbox SET locked_by = 'runner-x', lease_id = gen_random_uuid(), attempt_count = 1,
                          available_at = now() + interval '1 minute' WHERE delivery_id = :inflight_id;
SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'discard', 'user-6') $$,
    :inflight_id), '55000', format('record_response: delivery %s is being sent right now, so it cannot be discarded', :inflight_id),
    'discarding a delivery under a live lease: 55000');

-- Validation.
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'snooze', 'user-1') $$,
    :sent_id), '22023', 'record_response: action ''snooze'' is not known', 'an unknown action is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, NULL, 'user-1') $$,
    :sent_id), '22004', NULL, 'a null action is refused');
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'acknowledge', '') $$,
    :sent_id), '22004', 'record_response: actor_user_id must not be empty', 'an empty actor is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', NULL, 'acknowledge', 'user-1') $$,
    '22004', 'record_response: delivery_id must not be null', 'a null delivery id is refused');
SELECT throws_ok($$ SELECT * FROM msteams.record_response(NULL, 1, 'acknowledge', 'user-1') $$,
    '22004', 'record_response: tenant must not be null', 'a null tenant is refused');
-- Errors name the function called (STYLE 2.5), also for arguments record_response passes on to
-- record_audit_event: a bad surface, or an activity id too long for the idempotency key.
SELECT throws_like(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'escalate', 'user-1',
    p_surface => 'email') $$, :sent_id), 'record_response: %', 'an unknown surface is refused by record_response, in its own name');
SELECT throws_like(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'escalate', 'user-1',
    p_activity_id => %L) $$, :sent_id, repeat('a', 300)), 'record_response: %activity_id%',
    'an activity id too long to key the invoke is refused naming activity_id');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'acknowledge', 'user-1') $$,
    :sent_id), '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;

SET LOCAL ROLE msteams_reader;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'acknowledge', 'user-1') $$,
    :sent_id), '42501', NULL, 'the reader role cannot record a response');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok(format($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', %s, 'acknowledge', 'user-1') $$,
    :sent_id), '42501', NULL, 'the runner role cannot record a response');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT * FROM msteams.record_response('00000000-0000-0000-0000-0000000000a1', 1, 'acknowledge', 'user-1') $$,
    '42501', NULL, 'the admin role cannot record a response');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
