-- cleanup_audit_events: audit retention. audit_events is partitioned by month like the ledger, so
-- retention drops whole partitions older than p_now - p_retention: the work per call is bounded
-- by the number of partitions, not of rows (a DROP TABLE is O(1) in rows; a batched DELETE of a
-- year-old month writes every row to the WAL again, fires the append-only trigger per row and
-- leaves dead tuples to vacuum: docs/benchmarks.md, "Lifecycle"). Dropping a partition is not a
-- DELETE, so the append-only trigger is not involved. Also prunes the 'audit' idempotency keys
-- older than the cutoff.
CREATE OR REPLACE FUNCTION msteams.cleanup_audit_events(
    p_retention interval    DEFAULT interval '365 days',
    p_now       timestamptz DEFAULT now()
)
    RETURNS TABLE (partition_name text, range_start timestamptz, range_end timestamptz, rows_dropped bigint)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '2s'      -- a drop never queues writers behind a long reader for more than this
AS $fn$
DECLARE
    v_cutoff timestamptz;
    v_keys   bigint;
BEGIN
    -- One maintenance run at a time (shared with ensure_partitions and the other cleanup).
    v_cutoff := msteams._retention_cutoff('cleanup_audit_events', p_retention, p_now, '365 days', '730 days');
    IF v_cutoff IS NULL THEN
        RETURN;
    END IF;

    DELETE FROM msteams.idempotency_keys AS k
     WHERE k.scope = 'audit' AND k.created_at < v_cutoff;
    GET DIAGNOSTICS v_keys = ROW_COUNT;
    IF v_keys > 0 THEN
        RAISE NOTICE 'cleanup_audit_events: pruned % idempotency key(s) older than %', v_keys, v_cutoff;
    END IF;

    RETURN QUERY
    SELECT d.partition_name, d.range_start, d.range_end, d.rows_dropped
      FROM msteams._drop_expired_partitions('msteams.audit_events', v_cutoff, 'cleanup_audit_events') AS d;
END
$fn$;
ALTER FUNCTION msteams.cleanup_audit_events(interval, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.cleanup_audit_events(interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.cleanup_audit_events(interval, timestamptz) TO msteams_admin;
COMMENT ON FUNCTION msteams.cleanup_audit_events(interval, timestamptz) IS
'Audit retention: drop the monthly partitions of audit_events entirely older than p_now - p_retention (never the default, never the last, never one with rows inside the window) and prune the audit idempotency keys older than that cutoff. Work is bounded by partitions, not rows. A concurrent maintenance run skips with a NOTICE. Returns the partitions dropped with their row counts. Raises 22004 on NULL arguments, 22023 on a retention under 1 day.';
