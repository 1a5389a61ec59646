-- Helpers reading a partition's real bounds from the catalog (never from its name).
CREATE OR REPLACE FUNCTION msteams._partition_lower_bound(p_partition oid)
    RETURNS timestamptz
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz
      FROM pg_class AS c WHERE c.oid = p_partition
$fn$;
REVOKE ALL ON FUNCTION msteams._partition_lower_bound(oid) FROM PUBLIC;
COMMENT ON FUNCTION msteams._partition_lower_bound(oid) IS
'Internal: the inclusive lower bound of a range partition on created_at (NULL for a default partition).';

CREATE OR REPLACE FUNCTION msteams._partition_upper_bound(p_partition oid)
    RETURNS timestamptz
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
      FROM pg_class AS c WHERE c.oid = p_partition
$fn$;
REVOKE ALL ON FUNCTION msteams._partition_upper_bound(oid) FROM PUBLIC;
COMMENT ON FUNCTION msteams._partition_upper_bound(oid) IS
'Internal: the exclusive upper bound of a range partition on created_at (NULL for a default partition).';

-- The created_at values in a default partition, for ensure_partitions (one row per month is enough).
CREATE OR REPLACE FUNCTION msteams._default_partition_months(p_default regclass)
    RETURNS SETOF timestamptz
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF p_default IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT DISTINCT date_trunc(''month'', created_at AT TIME ZONE ''UTC'') AT TIME ZONE ''UTC'' FROM %s',
        p_default);
END
$fn$;
REVOKE ALL ON FUNCTION msteams._default_partition_months(regclass) FROM PUBLIC;
COMMENT ON FUNCTION msteams._default_partition_months(regclass) IS
'Internal: the months (UTC) that have rows in a default partition.';

-- Statement-level triggers (such as audit_events' TRUNCATE guard) are not cloned to partitions
-- the way row triggers are; copy them so a TRUNCATE of one partition is refused as well.
CREATE OR REPLACE FUNCTION msteams._copy_statement_triggers(p_parent regclass, p_child regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_trigger record;
BEGIN
    FOR v_trigger IN
        SELECT t.tgname, pg_get_triggerdef(t.oid) AS def
          FROM pg_trigger AS t
         WHERE t.tgrelid = p_parent AND NOT t.tgisinternal
           AND (t.tgtype & 1) = 0                 -- statement level
    LOOP
        EXECUTE replace(replace(v_trigger.def, 'CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER'),
                        format(' ON %s ', p_parent), format(' ON %s ', p_child));
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._copy_statement_triggers(regclass, regclass) FROM PUBLIC;
COMMENT ON FUNCTION msteams._copy_statement_triggers(regclass, regclass) IS
'Internal: give a partition the statement-level triggers of its parent (row triggers are cloned by PostgreSQL).';
