-- unacknowledged_critical: critical and high priority notifications that went out (sent or
-- delivered) and nobody has responded to yet, with how long they have been waiting.
-- One row per delivery, whichever way its delivered/responded outcomes were recorded: a response
-- on any of the delivery's rows acknowledges it. The scan is driven by the unresponded rows, so a
-- partial index on them (priority, status, responded_at IS NULL) would serve it.
CREATE OR REPLACE VIEW msteams.unacknowledged_critical WITH (security_invoker = true) AS
SELECT DISTINCT ON (d.tenant, d.delivery_id)
       d.tenant,
       d.delivery_id,
       d.internal_notification_id,
       d.priority,
       d.category,
       d.destination_type,
       d.destination_id,
       d.event_type,
       d.correlation_id,
       d.sent_at,
       now() - d.sent_at AS age
  FROM msteams.notification_deliveries AS d
 WHERE d.priority IN ('critical', 'high')
   AND d.status IN ('sent', 'delivered')
   AND d.responded_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM msteams.notification_deliveries AS r
                    WHERE r.tenant = d.tenant AND r.delivery_id = d.delivery_id AND r.responded_at IS NOT NULL)
 ORDER BY d.tenant, d.delivery_id, d.sent_at NULLS LAST, d.created_at, d.ledger_id;
ALTER VIEW msteams.unacknowledged_critical OWNER TO msteams_owner;
COMMENT ON VIEW msteams.unacknowledged_critical IS
'Critical and high priority deliveries that were sent or delivered but not responded to (no ledger row of the delivery has responded_at), one row per delivery (its earliest sent_at), with age = now() - sent_at. Oldest first is ORDER BY age DESC. security_invoker: readers see their own tenant.';
REVOKE ALL ON msteams.unacknowledged_critical FROM PUBLIC;
GRANT SELECT ON msteams.unacknowledged_critical TO msteams_reader;
