-- The start shared by both cleanups: check the arguments (naming the caller), take the maintenance
-- lock (shared with ensure_partitions) and return the cutoff; NULL when another maintenance run
-- holds the lock, in which case the caller skips.
CREATE OR REPLACE FUNCTION msteams._retention_cutoff(
    p_caller    text,
    p_retention interval,
    p_now       timestamptz,
    p_default   text,
    p_example   text
)
    RETURNS timestamptz
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF p_retention IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: retention must not be null', p_caller), COLUMN = 'retention',
            HINT = format('Omit it to keep %s, or pass an interval such as ''%s''.', p_default, p_example);
    END IF;
    IF p_now IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: now must not be null', p_caller), COLUMN = 'now',
            HINT = 'Omit it to use the current time.';
    END IF;
    IF p_retention < interval '1 day' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: retention %s is too short', p_caller, p_retention),
            COLUMN = 'retention', HINT = format('Use a retention of at least 1 day (default %s).', p_default);
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('msteams.partition_maintenance')) THEN
        RAISE NOTICE '%: another maintenance run holds the lock; skipping', p_caller;
        RETURN NULL;
    END IF;
    RETURN p_now - p_retention;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._retention_cutoff(text, interval, timestamptz, text, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._retention_cutoff(text, interval, timestamptz, text, text) IS
'Internal: validate a cleanup''s retention and clock (errors name p_caller), take the maintenance advisory lock and return the cutoff; NULL when another maintenance run holds the lock.';
