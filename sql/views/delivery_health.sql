-- delivery_health: per tenant, what the last 24 hours of the ledger look like.
-- created_at >= now() - 24 hours keeps partition pruning (now() is stable within a statement).
CREATE OR REPLACE VIEW msteams.delivery_health WITH (security_invoker = true) AS
WITH recent AS (
    SELECT d.tenant, d.status, d.final, d.error_code, d.enqueued_at, d.sent_at
      FROM msteams.notification_deliveries AS d
     WHERE d.created_at >= now() - interval '24 hours'
),
codes AS (
    SELECT c.tenant, jsonb_object_agg(c.error_code, c.n ORDER BY c.error_code) AS error_codes
      FROM (SELECT r.tenant, r.error_code, count(*) AS n
              FROM recent AS r WHERE r.error_code IS NOT NULL
             GROUP BY r.tenant, r.error_code) AS c
     GROUP BY c.tenant
),
totals AS (
    SELECT r.tenant,
           count(*) FILTER (WHERE r.status = 'sent')                  AS sent,
           count(*) FILTER (WHERE r.status = 'delivered')             AS delivered,
           count(*) FILTER (WHERE r.status = 'failed' AND r.final)     AS failed_final,
           count(*) FILTER (WHERE r.status = 'failed' AND NOT r.final) AS retried,
           count(*) FILTER (WHERE r.status = 'skipped')               AS skipped,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.sent_at - r.enqueued_at) * 1000)
               FILTER (WHERE r.status IN ('sent', 'delivered') AND r.sent_at IS NOT NULL) AS p50_latency_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.sent_at - r.enqueued_at) * 1000)
               FILTER (WHERE r.status IN ('sent', 'delivered') AND r.sent_at IS NOT NULL) AS p95_latency_ms
      FROM recent AS r
     GROUP BY r.tenant
)
SELECT t.tenant,
       t.sent,
       t.delivered,
       t.failed_final,
       t.retried,
       t.skipped,
       coalesce(c.error_codes, '{}'::jsonb) AS error_codes,
       round(t.failed_final::numeric / nullif(t.sent + t.delivered + t.failed_final, 0), 4) AS failure_rate,
       round(t.p50_latency_ms::numeric, 1) AS p50_latency_ms,
       round(t.p95_latency_ms::numeric, 1) AS p95_latency_ms
  FROM totals AS t
  LEFT JOIN codes AS c ON c.tenant = t.tenant;
ALTER VIEW msteams.delivery_health OWNER TO msteams_owner;
COMMENT ON VIEW msteams.delivery_health IS
'Per tenant, the ledger rows of the last 24 hours: counts by outcome (sent, delivered, failed_final = failed and final, retried = failed and retried, skipped), error_codes = {error_code: rows} over failed and skipped rows, failure_rate = failed_final / (sent + delivered + failed_final) rounded to 4 places (NULL when 0), p50/p95 (percentile_cont) of sent_at - enqueued_at in milliseconds, rounded to 0.1 ms, over sent and delivered rows. security_invoker: readers see their own tenant.';
REVOKE ALL ON msteams.delivery_health FROM PUBLIC;
GRANT SELECT ON msteams.delivery_health TO msteams_reader;
