-- dead_letters: deliveries that ended failed or skipped and can still be retried or discarded,
-- with the last answer the provider gave. Never the payload.
CREATE OR REPLACE VIEW msteams.dead_letters WITH (security_invoker = true) AS
SELECT x.tenant,
       x.delivery_id,
       x.internal_notification_id,
       x.final_status,
       x.error_code,
       x.attempt_count,
       x.priority,
       x.category,
       x.destination_type,
       x.destination_id,
       x.event_type,
       x.correlation_id,
       x.enqueued_at,
       x.closed_at,
       l.status_code,
       l.error_message
  FROM msteams.dead_letter_payloads AS x
  LEFT JOIN LATERAL (
        SELECT d.status_code, d.error_message
          FROM msteams.notification_deliveries AS d
         WHERE d.tenant = x.tenant AND d.delivery_id = x.delivery_id
         ORDER BY d.created_at DESC, d.ledger_id DESC
         LIMIT 1) AS l ON true;
ALTER VIEW msteams.dead_letters OWNER TO msteams_owner;
COMMENT ON VIEW msteams.dead_letters IS
'Deliveries that ended failed or skipped and still hold their payload for a retry or discard (msteams.dead_letter_payloads without the payload), with status_code and error_message of the delivery''s last ledger row (NULL when retention removed it). security_invoker: readers see their own tenant.';
REVOKE ALL ON msteams.dead_letters FROM PUBLIC;
GRANT SELECT ON msteams.dead_letters TO msteams_reader;
