-- mark_delivered: a sent delivery is confirmed delivered (status and delivered_at), once.
BEGIN;
SELECT plan(18);
\ir fixtures/tenants.sql

SELECT is_definer('msteams', 'mark_delivered', ARRAY['uuid', 'bigint', 'timestamp with time zone']);

-- One delivery sent, one failed for good, one still queued.
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS sent_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'escalation', 'critical',
    'chat', 'a:personal-1', :botmsg, 'md-1') \gset
SELECT delivery_id AS failed_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'gone@a1.example', :feed, 'md-2') \gset
RESET ROLE;
SET LOCAL ROLE msteams_runner;
CREATE TEMP TABLE c ON COMMIT DROP AS SELECT * FROM msteams.claim_deliveries('runner-1', 10);
SELECT is((SELECT count(*)::int FROM msteams.complete_deliveries('runner-1', (SELECT jsonb_agg(jsonb_build_object(
           'tenant', c.tenant, 'delivery_id', c.delivery_id, 'lease_id', c.lease_id,
           'status', CASE WHEN c.delivery_id = :sent_id THEN 'sent' ELSE 'failed' END,
           'error_code', CASE WHEN c.delivery_id = :failed_id THEN 'graph_not_found' END,
           'provider_message_id', CASE WHEN c.delivery_id = :sent_id THEN 'activity-1' END)) FROM c)) AS r
             WHERE r.outcome = 'final'), 2, 'one delivery sent, one failed for good');
RESET ROLE;
SET LOCAL ROLE msteams_app;
SELECT delivery_id AS queued_id FROM msteams.enqueue_notification('00000000-0000-0000-0000-0000000000a1', 'assignment', 'high',
    'user_activity', 'later@a1.example', :feed, 'md-3') \gset

SELECT is(msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', :sent_id, '2031-01-02 03:04:05+00'), true,
          'marking a sent delivery delivered returns true');
RESET ROLE;
SELECT is((SELECT row(d.status, d.delivered_at = '2031-01-02 03:04:05+00', d.sent_at IS NOT NULL, d.provider_message_id)::text
             FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id),
          '(delivered,t,t,activity-1)', 'the sent ledger row becomes delivered, with delivered_at; the rest is kept');
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id), 1,
          'no ledger row is added');

SET LOCAL ROLE msteams_app;
SELECT is(msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', :sent_id, '2032-01-01 00:00:00+00'), false,
          'a repeat returns false');
RESET ROLE;
SELECT is((SELECT d.delivered_at FROM msteams.notification_deliveries AS d WHERE d.delivery_id = :sent_id),
          '2031-01-02 03:04:05+00'::timestamptz, '… and changes nothing');

SET LOCAL ROLE msteams_app;
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s) $$, :queued_id),
    '55000', format('mark_delivered: delivery %s has not been sent', :queued_id), 'a delivery still queued: 55000');
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s) $$, :failed_id),
    '55000', format('mark_delivered: delivery %s has not been sent', :failed_id), 'a delivery that failed: 55000');
SELECT throws_ok($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', -42) $$,
    'P0002', 'mark_delivered: delivery -42 does not exist for this tenant', 'an unknown delivery: P0002');
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000b2', %s) $$, :sent_id),
    'P0002', NULL, 'another tenant''s delivery is unknown: P0002');
SELECT throws_ok($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', NULL) $$,
    '22004', 'mark_delivered: delivery_id must not be null', 'a null delivery id is refused');
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s, NULL) $$, :sent_id),
    '22004', 'mark_delivered: delivered_at must not be null', 'a null delivered_at is refused');
SET LOCAL msteams.tenant = '00000000-0000-0000-0000-0000000000b2';
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s) $$, :sent_id),
    '42501', NULL, 'msteams.tenant set to another tenant: refused');
RESET msteams.tenant;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM msteams.notification_deliveries AS d WHERE d.status = 'delivered'), 1,
          'refused calls marked nothing');

SET LOCAL ROLE msteams_reader;
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s) $$, :sent_id),
    '42501', NULL, 'the reader role cannot mark deliveries');
RESET ROLE;
SET LOCAL ROLE msteams_runner;
SELECT throws_ok(format($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', %s) $$, :sent_id),
    '42501', NULL, 'the runner role cannot mark deliveries');
RESET ROLE;

SET LOCAL ROLE msteams_admin;
SELECT throws_ok($$ SELECT msteams.mark_delivered('00000000-0000-0000-0000-0000000000a1', 1) $$,
    '42501', NULL, 'the admin role cannot mark deliveries');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
