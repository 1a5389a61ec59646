-- cleanup_notification_deliveries: ledger retention. Drops the monthly partitions of
-- notification_deliveries whose whole range is older than p_now - p_retention (see
-- _drop_expired_partitions.sql for the rules and why whole partitions), and prunes what the
-- ledger's retention covers: the enqueue/delivery idempotency keys and the dead-letter payloads
-- older than the same cutoff. The prunes run first, before the drops take their lock on the
-- ledger, so writers of the ledger wait only for the drops themselves.
CREATE OR REPLACE FUNCTION msteams.cleanup_notification_deliveries(
    p_retention interval    DEFAULT interval '90 days',
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
    v_dead   bigint;
BEGIN
    -- One maintenance run at a time (shared with ensure_partitions and the other cleanup).
    v_cutoff := msteams._retention_cutoff('cleanup_notification_deliveries', p_retention, p_now, '90 days', '180 days');
    IF v_cutoff IS NULL THEN
        RETURN;
    END IF;

    -- One indexed DELETE each (BRIN on created_at, btree on closed_at). A loop of 10k batches in
    -- the same transaction holds the same locks until commit and rescans what it already deleted;
    -- bench/bench_retention.py measures both (docs/benchmarks.md).
    DELETE FROM msteams.idempotency_keys AS k
     WHERE k.scope IN ('enqueue', 'delivery') AND k.created_at < v_cutoff;
    GET DIAGNOSTICS v_keys = ROW_COUNT;
    DELETE FROM msteams.dead_letter_payloads AS d
     WHERE d.closed_at < v_cutoff;
    GET DIAGNOSTICS v_dead = ROW_COUNT;
    IF v_keys > 0 OR v_dead > 0 THEN
        RAISE NOTICE 'cleanup_notification_deliveries: pruned % idempotency key(s) and % dead-letter payload(s) older than %',
                     v_keys, v_dead, v_cutoff;
    END IF;

    RETURN QUERY
    SELECT d.partition_name, d.range_start, d.range_end, d.rows_dropped
      FROM msteams._drop_expired_partitions('msteams.notification_deliveries', v_cutoff,
                                            'cleanup_notification_deliveries') AS d;
END
$fn$;
ALTER FUNCTION msteams.cleanup_notification_deliveries(interval, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.cleanup_notification_deliveries(interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.cleanup_notification_deliveries(interval, timestamptz) TO msteams_admin;
COMMENT ON FUNCTION msteams.cleanup_notification_deliveries(interval, timestamptz) IS
'Ledger retention: drop the monthly partitions of notification_deliveries entirely older than p_now - p_retention (never the default, never the last, never one with rows inside the window), and prune the enqueue/delivery idempotency keys and dead-letter payloads older than that cutoff. A concurrent maintenance run skips with a NOTICE. Returns the partitions dropped with their row counts. Raises 22004 on NULL arguments, 22023 on a retention under 1 day.';
