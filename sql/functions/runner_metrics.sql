-- runner_metrics: what the runner exports as Prometheus gauges about the whole queue and ledger.
CREATE OR REPLACE FUNCTION msteams.runner_metrics()
    RETURNS TABLE (metric text, label text, value double precision)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH q AS (
        SELECT count(*) FILTER (WHERE o.locked_by IS NULL AND o.available_at <= now()) AS due,
               count(*) FILTER (WHERE o.locked_by IS NOT NULL AND o.available_at > now()) AS leased,
               count(*) FILTER (WHERE o.locked_by IS NOT NULL AND o.available_at <= now()) AS expired,
               count(*) FILTER (WHERE o.locked_by IS NULL AND o.available_at > now()) AS scheduled,
               coalesce(extract(epoch FROM now() - min(o.available_at) FILTER (WHERE o.available_at <= now())), 0) AS oldest
          FROM msteams.outbox AS o
    ), u AS (
        SELECT count(DISTINCT (d.tenant, d.delivery_id)) AS n,
               coalesce(extract(epoch FROM now() - min(d.sent_at)), 0) AS oldest
          FROM msteams.notification_deliveries AS d
         WHERE d.created_at >= now() - interval '7 days'
           AND d.priority IN ('critical', 'high') AND d.status IN ('sent', 'delivered') AND d.responded_at IS NULL
    )
    SELECT 'queue_depth', 'due', q.due::double precision FROM q
    UNION ALL SELECT 'queue_depth', 'leased', q.leased FROM q
    UNION ALL SELECT 'queue_depth', 'expired_lease', q.expired FROM q
    UNION ALL SELECT 'queue_depth', 'scheduled', q.scheduled FROM q
    UNION ALL SELECT 'queue_oldest_due_seconds', '', q.oldest FROM q
    UNION ALL SELECT 'unacknowledged_critical', '', u.n FROM u
    UNION ALL SELECT 'unacknowledged_critical_oldest_seconds', '', u.oldest FROM u
    UNION ALL SELECT 'default_partition_rows', 'notification_deliveries',
                     (SELECT count(*) FROM msteams.notification_deliveries_default)
    UNION ALL SELECT 'default_partition_rows', 'audit_events', (SELECT count(*) FROM msteams.audit_events_default)
    UNION ALL SELECT 'dead_letters', '', (SELECT count(*) FROM msteams.dead_letter_payloads)
    UNION ALL SELECT 'throttle_pauses_active', '', (SELECT count(*) FROM msteams.throttle_pauses AS tp WHERE tp.paused_until > now())
$fn$;
ALTER FUNCTION msteams.runner_metrics() OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.runner_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.runner_metrics() TO msteams_runner;
COMMENT ON FUNCTION msteams.runner_metrics() IS
'Gauges for the runner''s /metrics, across tenants (counts only, no tenant data): queue depth by state, age of the oldest due delivery, unacknowledged critical/high deliveries of the last 7 days and the oldest one''s age, rows in default partitions, dead letters, active throttle pauses.';
