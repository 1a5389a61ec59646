-- next_due_at: when the next delivery becomes due, so an idle runner sleeps exactly until then.
CREATE OR REPLACE FUNCTION msteams.next_due_at()
    RETURNS timestamptz
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT min(n.at)
      FROM generate_series(0, 4) AS r(rank)
     CROSS JOIN LATERAL (SELECT o.available_at AS at FROM msteams.outbox AS o
                          WHERE o.priority_rank = r.rank ORDER BY o.available_at LIMIT 1) AS n
$fn$;
ALTER FUNCTION msteams.next_due_at() OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.next_due_at() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.next_due_at() TO msteams_runner;
COMMENT ON FUNCTION msteams.next_due_at() IS
'The earliest time any delivery in the outbox is due (a scheduled retry, a future run_at or a lease expiry); NULL when the outbox is empty. Five index probes.';
