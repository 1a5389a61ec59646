-- runner_heartbeat: a runner says it is alive (every few seconds) and learns how many share the work.
CREATE OR REPLACE FUNCTION msteams.runner_heartbeat(p_worker text, p_stopping boolean DEFAULT false)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_live integer;
BEGIN
    IF p_worker IS NULL OR p_worker = '' OR length(p_worker) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_worker IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'runner_heartbeat: worker must be a non-empty name of at most 200 characters',
            COLUMN = 'worker', HINT = 'Pass the runner''s worker id (host:pid).';
    END IF;
    IF p_stopping THEN
        DELETE FROM msteams.runners AS r WHERE r.worker_id = p_worker;
    ELSE
        INSERT INTO msteams.runners AS r (worker_id) VALUES (p_worker)
        ON CONFLICT ON CONSTRAINT runners_pkey DO UPDATE SET heartbeat_at = now();
    END IF;
    -- Housekeeping of the runners' own small tables.
    DELETE FROM msteams.runners AS r WHERE r.heartbeat_at < now() - interval '5 minutes';
    DELETE FROM msteams.throttle_pauses AS tp WHERE tp.paused_until < now() - interval '10 minutes';
    SELECT count(*) INTO v_live FROM msteams.runners AS r WHERE r.heartbeat_at >= now() - interval '30 seconds';
    RETURN greatest(v_live, CASE WHEN p_stopping THEN 0 ELSE 1 END);
END
$fn$;
ALTER FUNCTION msteams.runner_heartbeat(text, boolean) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.runner_heartbeat(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.runner_heartbeat(text, boolean) TO msteams_runner;
COMMENT ON FUNCTION msteams.runner_heartbeat(text, boolean) IS
'Record that runner p_worker is alive (or, with p_stopping, that it stops) and return how many runners were seen in the last 30 seconds: each paces Microsoft''s limits at its share. Also forgets runners silent for 5 minutes and throttle pauses long over.';
