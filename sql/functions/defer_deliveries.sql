-- defer_deliveries: a runner gives claimed deliveries back, due again at a later time it chose
-- (its throttle reserved a send slot for them then). The attempt is not counted.
CREATE OR REPLACE FUNCTION msteams.defer_deliveries(p_worker text, p_deferrals jsonb)
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
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'defer_deliveries: worker must not be null',
            COLUMN = 'worker', HINT = 'Pass the name the deliveries were claimed with.';
    END IF;
    IF p_deferrals IS NULL OR jsonb_typeof(p_deferrals) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_deferrals IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'defer_deliveries: deferrals must be a JSON array', COLUMN = 'deferrals',
            HINT = 'Pass [{"tenant", "delivery_id", "lease_id", "delay_seconds"}, …].';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_deferrals) AS e(item)
                WHERE (e.item->>'delay_seconds') IS NULL OR (e.item->>'delay_seconds') !~ '^[0-9]{1,6}(\.[0-9]+)?$') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'defer_deliveries: delay_seconds must be a number of seconds up to 999999', COLUMN = 'delay_seconds',
            HINT = 'Pass how long from now the delivery should be due again.';
    END IF;
    UPDATE msteams.outbox AS o
       SET available_at = now() + make_interval(secs => d.delay_seconds::double precision),
           locked_by = NULL, lease_id = NULL, attempt_count = greatest(o.attempt_count - 1, 0)
      FROM jsonb_to_recordset(p_deferrals) AS d(tenant uuid, delivery_id bigint, lease_id uuid, delay_seconds numeric)
     WHERE o.tenant = d.tenant AND o.delivery_id = d.delivery_id AND o.lease_id = d.lease_id
       AND o.locked_by = p_worker;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$fn$;
ALTER FUNCTION msteams.defer_deliveries(text, jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.defer_deliveries(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.defer_deliveries(text, jsonb) TO msteams_runner;
COMMENT ON FUNCTION msteams.defer_deliveries(text, jsonb) IS
'Give claimed deliveries back to the outbox, due again after delay_seconds (the runner''s throttle reserved a send slot then), without counting the attempt. Only the current lease holder can defer. Returns how many were deferred.';
