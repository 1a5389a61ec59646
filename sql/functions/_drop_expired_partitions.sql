-- _drop_expired_partitions: the retention step shared by cleanup_notification_deliveries() and
-- cleanup_audit_events(). Retention drops whole monthly partitions rather than deleting rows in
-- batches: a DROP TABLE costs the same for 10 rows or 10 million (no per-row WAL, no dead tuples,
-- no index maintenance, no VACUUM afterwards), while a DELETE of one month of a busy ledger writes
-- every row again to the WAL and leaves the table to be vacuumed (docs/benchmarks.md, "Lifecycle").
--
-- Safety rules (STYLE Part 3 item 5, pg_partman #776 and #189):
--   * the real bounds are read from the catalog (msteams._partition_upper_bound), never the name;
--   * a partition is dropped only when its whole range is older than the cutoff (upper <= cutoff);
--   * never the default partition (no upper bound), never one bounded by MAXVALUE;
--   * never the last remaining range partition of the table;
--   * defensive: a partition holding any row at or after the cutoff is kept. The check is a query
--     for such a row planned with constraint_exclusion = on and the cutoff as a literal: the
--     planner answers it from PostgreSQL's own partition bound without reading a page, so it costs
--     nothing when our reading of the bound is right and scans the partition if it is not.
-- rows_dropped: what the partition held, from pg_class.reltuples (kept current by autovacuum and
-- ANALYZE; an estimate for a large partition, exact after a VACUUM); a partition never analyzed is
-- counted exactly. Counting every partition instead would read the whole month just to report a
-- number: the one cost per row this retention exists to avoid (docs/benchmarks.md, "Lifecycle").
-- Locking: every candidate is checked first (ACCESS SHARE on that partition only); only then are
-- the drops done, each of which takes ACCESS EXCLUSIVE on the parent until commit. Inserts into the
-- parent therefore wait only for the drops and the commit. A drop that cannot get its lock within
-- lock_timeout (2 s, set by the caller) stops the run with a NOTICE; the next run drops what is
-- left. The caller holds the maintenance advisory lock.
CREATE OR REPLACE FUNCTION msteams._drop_expired_partitions(
    p_parent regclass,
    p_cutoff timestamptz,
    p_caller text
)
    RETURNS TABLE (partition_name text, range_start timestamptz, range_end timestamptz, rows_dropped bigint)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET constraint_exclusion = on      -- lets the planner prove "no row at or after the cutoff"
AS $fn$
DECLARE
    v_part       record;
    v_ranges     integer;
    v_oids       oid[]         := '{}';
    v_names      text[]        := '{}';
    v_lowers     timestamptz[] := '{}';
    v_uppers     timestamptz[] := '{}';
    v_counts     bigint[]      := '{}';
    v_rows       bigint;
    v_inside     boolean;
    v_i          integer;
BEGIN
    SELECT count(*)::integer INTO v_ranges
      FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhrelid
     WHERE i.inhparent = p_parent AND pg_get_expr(pc.relpartbound, pc.oid) <> 'DEFAULT';

    -- Pass 1: choose and count (reads only).
    FOR v_part IN
        SELECT pc.oid AS part_oid, pc.relname AS part_name,
               msteams._partition_lower_bound(pc.oid) AS lower_bound,
               msteams._partition_upper_bound(pc.oid) AS upper_bound
          FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhrelid
         WHERE i.inhparent = p_parent AND pg_get_expr(pc.relpartbound, pc.oid) <> 'DEFAULT'
         ORDER BY 4 NULLS LAST, 2
    LOOP
        -- NULL: a bound this helper cannot read (MAXVALUE): keep it.
        CONTINUE WHEN v_part.upper_bound IS NULL OR v_part.upper_bound > p_cutoff;
        IF v_ranges - cardinality(v_oids) <= 1 THEN
            RAISE NOTICE '%: kept %, the last range partition of %', p_caller, v_part.part_name, p_parent;
            EXIT;
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s AS t WHERE t.created_at >= %L::timestamptz)',
                       v_part.part_oid::regclass, p_cutoff)
           INTO v_inside;
        IF v_inside THEN
            RAISE NOTICE '%: kept %: it holds rows at or after the cutoff %', p_caller, v_part.part_name, p_cutoff;
            CONTINUE;
        END IF;
        SELECT CASE WHEN pc.reltuples >= 0 THEN pc.reltuples::bigint END INTO v_rows
          FROM pg_class AS pc WHERE pc.oid = v_part.part_oid;
        IF v_rows IS NULL THEN      -- never analyzed (a young or small partition): count it
            EXECUTE format('SELECT count(*) FROM %s AS t', v_part.part_oid::regclass) INTO v_rows;
        END IF;
        v_oids   := v_oids   || v_part.part_oid;
        v_names  := v_names  || v_part.part_name::text;
        v_lowers := v_lowers || v_part.lower_bound;
        v_uppers := v_uppers || v_part.upper_bound;
        v_counts := v_counts || v_rows;
    END LOOP;

    -- Pass 2: drop (ACCESS EXCLUSIVE on the parent from the first drop until commit).
    FOR v_i IN 1 .. cardinality(v_oids) LOOP
        BEGIN
            EXECUTE format('DROP TABLE %s', v_oids[v_i]::regclass);
        EXCEPTION WHEN lock_not_available THEN
            RAISE NOTICE '%: could not lock % within lock_timeout; it and later partitions are left for the next run',
                         p_caller, v_names[v_i];
            EXIT;
        END;
        partition_name := v_names[v_i];
        range_start    := v_lowers[v_i];
        range_end      := v_uppers[v_i];
        rows_dropped   := v_counts[v_i];
        RETURN NEXT;
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._drop_expired_partitions(regclass, timestamptz, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._drop_expired_partitions(regclass, timestamptz, text) IS
'Internal: drop the range partitions of p_parent whose upper bound is at or before p_cutoff (never the default, never the last range partition, never one holding rows at or after the cutoff). Returns what it dropped with its row count (pg_class.reltuples; counted when never analyzed).';
