-- queue_status: per tenant, what is waiting in the outbox right now.
CREATE OR REPLACE VIEW msteams.queue_status WITH (security_invoker = true) AS
SELECT o.tenant,
       count(*) FILTER (WHERE o.locked_by IS NULL AND o.available_at <= now())     AS due,
       count(*) FILTER (WHERE o.locked_by IS NOT NULL AND o.available_at > now())  AS leased,
       count(*) FILTER (WHERE o.locked_by IS NOT NULL AND o.available_at <= now()) AS expired_leases,
       count(*) FILTER (WHERE o.locked_by IS NULL AND o.available_at > now())      AS scheduled,
       count(*)                                                                    AS total,
       now() - min(o.available_at) FILTER (WHERE o.locked_by IS NULL AND o.available_at <= now()) AS oldest_due_age,
       now() - min(o.created_at)                                                   AS oldest_created_age
  FROM msteams.outbox AS o
 GROUP BY o.tenant;
ALTER VIEW msteams.queue_status OWNER TO msteams_owner;
COMMENT ON VIEW msteams.queue_status IS
'Per tenant, the outbox now: due (unleased, available_at <= now()), leased (lease running), expired_leases (leased, lease expired: claimable again), scheduled (unleased, due later: new or waiting for a retry), total, oldest_due_age (how long the oldest due row has been due) and oldest_created_age. security_invoker: readers see their own tenant.';
REVOKE ALL ON msteams.queue_status FROM PUBLIC;
GRANT SELECT ON msteams.queue_status TO msteams_reader;
