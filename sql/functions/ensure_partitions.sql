-- ensure_partitions: make the monthly partitions of every partitioned msteams table exist,
-- from the current month to p_months_ahead months ahead, and empty the default partitions.
CREATE OR REPLACE FUNCTION msteams.ensure_partitions(
    p_months_ahead integer     DEFAULT 3,
    p_now          timestamptz DEFAULT now()
)
    RETURNS TABLE (table_name text, partition_name text, range_start timestamptz,
                   range_end timestamptz, moved_rows bigint)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_parent    record;
    v_month     timestamptz;
    v_upper     timestamptz;
    v_name      text;
    v_default   regclass;
    v_moved     bigint;
    v_has_rows  boolean;
    v_overlap   text;
    v_current   timestamptz := date_trunc('month', p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead NOT BETWEEN 0 AND 36 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('ensure_partitions: months_ahead %s is out of range', coalesce(p_months_ahead::text, 'NULL')),
            COLUMN = 'months_ahead', HINT = 'Use a number of months between 0 and 36 (default 3).';
    END IF;
    IF p_now IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'ensure_partitions: now must not be null', COLUMN = 'now',
            HINT = 'Omit it to use the current time.';
    END IF;
    -- On Citus, DDL on distributed tables runs over parallel connections, after which the same
    -- transaction cannot move rows between them: keep this transaction's work sequential.
    IF current_setting('citus.multi_shard_modify_mode', true) IS NOT NULL THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    -- One maintenance run at a time; a concurrent run skips instead of queueing behind us.
    IF NOT pg_try_advisory_xact_lock(hashtext('msteams.partition_maintenance')) THEN
        RAISE NOTICE 'ensure_partitions: another maintenance run holds the lock; skipping';
        RETURN;
    END IF;

    FOR v_parent IN
        SELECT c.oid::regclass AS rel, c.relname
          FROM pg_class AS c
         WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind = 'p'
         ORDER BY c.relname
    LOOP
        SELECT i.inhrelid::regclass INTO v_default
          FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhrelid
         WHERE i.inhparent = v_parent.rel AND pg_get_expr(pc.relpartbound, pc.oid) = 'DEFAULT';

        FOR v_month IN
            SELECT m FROM generate_series(v_current, v_current + make_interval(months => p_months_ahead),
                                          interval '1 month') AS m
            UNION   -- plus every month that has rows stranded in the default partition
            SELECT DISTINCT date_trunc('month', d.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
              FROM msteams._default_partition_months(v_default) AS d(created_at)
            ORDER BY 1
        LOOP
            v_upper := (v_month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
            v_name  := format('%s_p%s', v_parent.relname, to_char(v_month AT TIME ZONE 'UTC', 'YYYYMM'));
            CONTINUE WHEN to_regclass(format('msteams.%I', v_name)) IS NOT NULL;

            -- A partition with other bounds covering part of this month: we cannot place rows.
            SELECT pc.relname INTO v_overlap
              FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhrelid
             WHERE i.inhparent = v_parent.rel AND pg_get_expr(pc.relpartbound, pc.oid) <> 'DEFAULT'
               AND msteams._partition_upper_bound(pc.oid) > v_month
               AND msteams._partition_lower_bound(pc.oid) < v_upper
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                    MESSAGE = format('ensure_partitions: cannot create %s for [%s, %s): partition %s overlaps it',
                                     v_name, v_month, v_upper, v_overlap),
                    HINT = 'Detach or drop the overlapping partition (after moving its rows), then run ensure_partitions again.';
            END IF;

            v_moved := 0;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE created_at >= $1 AND created_at < $2)', v_default)
               INTO v_has_rows USING v_month, v_upper;
            IF v_has_rows THEN
                -- The default holds rows of this month: a partition cannot be created over them.
                -- Build it detached, move the rows, then attach it (pg_partman's partition_data).
                EXECUTE format('CREATE TABLE msteams.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                               v_name, v_parent.rel);
                PERFORM set_config('msteams.audit_removal', 'on', true);   -- moving is not deleting
                EXECUTE format('WITH moved AS (DELETE FROM %s WHERE created_at >= $1 AND created_at < $2 RETURNING *)
                                INSERT INTO msteams.%I SELECT * FROM moved', v_default, v_name)
                   USING v_month, v_upper;
                GET DIAGNOSTICS v_moved = ROW_COUNT;
                PERFORM set_config('msteams.audit_removal', '', true);
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION msteams.%I FOR VALUES FROM (%L) TO (%L)',
                               v_parent.rel, v_name, v_month, v_upper);
            ELSE
                EXECUTE format('CREATE TABLE msteams.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               v_name, v_parent.rel, v_month, v_upper);
            END IF;
            -- A partition has its own RLS switch and grants: give it the parent's.
            PERFORM msteams._secure_tenant_table(format('msteams.%I', v_name)::regclass);
            PERFORM msteams._copy_statement_triggers(v_parent.rel, format('msteams.%I', v_name)::regclass);
            EXECUTE format('COMMENT ON TABLE msteams.%I IS %L', v_name,
                           format('Monthly partition of %s for [%s, %s).', v_parent.relname,
                                  to_char(v_month AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                                  to_char(v_upper AT TIME ZONE 'UTC', 'YYYY-MM-DD')));
            table_name := v_parent.relname; partition_name := v_name;
            range_start := v_month; range_end := v_upper; moved_rows := v_moved;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;
ALTER FUNCTION msteams.ensure_partitions(integer, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.ensure_partitions(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.ensure_partitions(integer, timestamptz) TO msteams_admin;
COMMENT ON FUNCTION msteams.ensure_partitions(integer, timestamptz) IS
'Create the missing monthly partitions (current month to p_months_ahead ahead) of every partitioned msteams table, each with RLS and grants; move rows stranded in a default partition into proper partitions. Idempotent; a concurrent run skips. Returns what it created.';
