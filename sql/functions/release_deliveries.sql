-- release_deliveries: a stopping runner gives back what it claimed but did not attempt.
CREATE OR REPLACE FUNCTION msteams.release_deliveries(p_worker text, p_delivery_ids bigint[] DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_count integer;
BEGIN
    IF p_worker IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'release_deliveries: worker must not be null',
            COLUMN = 'worker', HINT = 'Pass the name the deliveries were claimed with.';
    END IF;
    UPDATE msteams.outbox AS o
       SET available_at = now(), locked_by = NULL, lease_id = NULL,
           attempt_count = greatest(o.attempt_count - 1, 0)      -- an attempt not started does not count
     WHERE o.locked_by = p_worker
       AND (p_delivery_ids IS NULL OR o.delivery_id = ANY (p_delivery_ids));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        PERFORM pg_notify('msteams_outbox', '');                -- another runner may take them now
    END IF;
    RETURN v_count;
END
$fn$;
ALTER FUNCTION msteams.release_deliveries(text, bigint[]) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.release_deliveries(text, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.release_deliveries(text, bigint[]) TO msteams_runner;
COMMENT ON FUNCTION msteams.release_deliveries(text, bigint[]) IS
'Give back the deliveries runner p_worker holds (all of them, or only p_delivery_ids) without counting the attempt: they are due at once for any runner. Returns how many were released.';
