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
