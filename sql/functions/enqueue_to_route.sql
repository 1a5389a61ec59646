-- enqueue_to_route: fan one notification out to every destination of a tenant's route (DESIGN §11).
CREATE OR REPLACE FUNCTION msteams.enqueue_to_route(
    p_tenant                   uuid,
    p_route                    text,
    p_category                 text,
    p_priority                 text,
    p_payloads                 jsonb,
    p_internal_notification_id text,
    p_idempotency_key          text        DEFAULT NULL,
    p_correlation_id           text        DEFAULT NULL,
    p_event_type               text        DEFAULT NULL,
    p_run_at                   timestamptz DEFAULT NULL,
    p_expires_at               timestamptz DEFAULT NULL)
    RETURNS TABLE (destination_type text, destination_id text, delivery_id bigint, status text,
                   error_code text, duplicate boolean)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_items   jsonb;
    v_missing text;
BEGIN
    PERFORM msteams._assert_tenant('enqueue_to_route', p_tenant);
    IF p_route IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'enqueue_to_route: route must not be null',
            COLUMN = 'route', HINT = 'Pass the name of a route created with set_route.';
    END IF;
    IF p_payloads IS NULL OR jsonb_typeof(p_payloads) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_payloads IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'enqueue_to_route: payloads must be a JSON object keyed by destination type',
            COLUMN = 'payloads',
            HINT = 'Pass {"webhook": <card message>, "user_activity": <activity feed body>, "chat": …, "channel": …} with one payload per destination type the route uses.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM msteams.routes AS r WHERE r.tenant = p_tenant AND r.route = p_route) THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('enqueue_to_route: route %L does not exist for this tenant', left(p_route, 64)),
            COLUMN = 'route', HINT = 'Create it with msteams.set_route(tenant, route, destinations).';
    END IF;
    SELECT string_agg(DISTINCT r.destination_type, ', ') INTO v_missing
      FROM msteams.routes AS r
     WHERE r.tenant = p_tenant AND r.route = p_route AND NOT p_payloads ? r.destination_type;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('enqueue_to_route: payloads has no payload for destination type %s of route %L',
                             v_missing, left(p_route, 64)),
            COLUMN = 'payloads', HINT = 'Add a payload for every destination type the route uses.';
    END IF;

    SELECT jsonb_agg(jsonb_build_object(
               'category', p_category, 'priority', p_priority,
               'destination_type', r.destination_type, 'destination_id', r.destination_id,
               'payload', p_payloads->r.destination_type, 'internal_notification_id', p_internal_notification_id,
               -- each destination gets its own key
               'idempotency_key', p_idempotency_key || ':' || r.destination_type || ':' || r.destination_id,
               'correlation_id', p_correlation_id, 'event_type', p_event_type,
               'run_at', p_run_at, 'expires_at', p_expires_at)
             ORDER BY r.destination_type, r.destination_id)
      INTO v_items
      FROM msteams.routes AS r
     WHERE r.tenant = p_tenant AND r.route = p_route;

    RETURN QUERY
        SELECT v_items->(e.ordinal - 1)->>'destination_type', v_items->(e.ordinal - 1)->>'destination_id',
               e.delivery_id, e.status, e.error_code, e.duplicate
          FROM msteams._enqueue('enqueue_to_route', p_tenant, v_items, true) AS e
         ORDER BY e.ordinal;
END
$fn$;
ALTER FUNCTION msteams.enqueue_to_route(uuid, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.enqueue_to_route(uuid, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.enqueue_to_route(uuid, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) TO msteams_app;
COMMENT ON FUNCTION msteams.enqueue_to_route(uuid, text, text, text, jsonb, text, text, text, text, timestamptz, timestamptz) IS
'Fan one notification out to every destination of the tenant''s route, one delivery each with its own key, in the caller''s transaction. p_payloads maps each destination type of the route to its payload. Errors: P0002 unknown route, 22023 a destination type without payload, plus those of enqueue_notification (naming deliveries[n]).';
