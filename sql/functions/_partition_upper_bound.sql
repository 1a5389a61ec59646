-- A range partition's real upper bound, read from the catalog (never from its name).
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
