-- set_route: create or replace a tenant's named route (the destinations an enqueue_to_route fans out to).
CREATE OR REPLACE FUNCTION msteams.set_route(p_tenant uuid, p_route text, p_destinations jsonb)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bad   record;
    v_count integer;
BEGIN
    PERFORM msteams._assert_tenant('set_route', p_tenant);
    IF p_route IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'set_route: route must not be null',
            COLUMN = 'route', HINT = 'Name the route, e.g. security, sre, compliance.';
    END IF;
    IF p_route !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'set_route: route is not a valid name',
            COLUMN = 'route', HINT = 'Use 1 to 63 lower-case letters, digits, _ . - (starting with a letter or digit).';
    END IF;
    IF p_destinations IS NULL OR jsonb_typeof(p_destinations) <> 'array' OR jsonb_array_length(p_destinations) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_destinations IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'set_route: destinations must be a non-empty JSON array', COLUMN = 'destinations',
            HINT = 'Pass [{"destination_type": "webhook", "destination_id": "sre-room"}, …]; delete a route with delete_route.';
    END IF;
    SELECT e.ordinal, e.item INTO v_bad
      FROM jsonb_array_elements(p_destinations) WITH ORDINALITY AS e(item, ordinal)
     WHERE jsonb_typeof(e.item) <> 'object'
        OR e.item->>'destination_type' IS NULL
        OR e.item->>'destination_type' NOT IN ('user_activity', 'chat', 'channel', 'webhook')
        OR coalesce(e.item->>'destination_id', '') = ''
        OR length(e.item->>'destination_id') > 512
        OR (e.item->>'destination_type' = 'webhook' AND e.item->>'destination_id' !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
     ORDER BY e.ordinal LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('set_route: destinations[%s] is not a valid destination', v_bad.ordinal),
            COLUMN = 'destinations',
            HINT = 'Each destination is {"destination_type": user_activity|chat|channel|webhook, "destination_id": …}; a webhook is named by its set_webhook name, never its URL.';
    END IF;

    DELETE FROM msteams.routes AS r WHERE r.tenant = p_tenant AND r.route = p_route;
    INSERT INTO msteams.routes AS r (tenant, route, destination_type, destination_id)
    SELECT DISTINCT p_tenant, p_route, e.item->>'destination_type', e.item->>'destination_id'
      FROM jsonb_array_elements(p_destinations) AS e(item);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$fn$;
ALTER FUNCTION msteams.set_route(uuid, text, jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.set_route(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.set_route(uuid, text, jsonb) TO msteams_app;
COMMENT ON FUNCTION msteams.set_route(uuid, text, jsonb) IS
'Create or replace the tenant''s route p_route with the destinations in p_destinations (a JSON array of {destination_type, destination_id}). Returns the number of destinations. Errors: 22004/22023 naming the field.';
