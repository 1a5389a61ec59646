-- delete_route: remove a tenant's route.
CREATE OR REPLACE FUNCTION msteams.delete_route(p_tenant uuid, p_route text)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_tenant('delete_route', p_tenant);
    IF p_route IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'delete_route: route must not be null',
            COLUMN = 'route', HINT = 'Pass the name of the route to delete.';
    END IF;
    DELETE FROM msteams.routes AS r WHERE r.tenant = p_tenant AND r.route = p_route;
    RETURN FOUND;
END
$fn$;
ALTER FUNCTION msteams.delete_route(uuid, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.delete_route(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.delete_route(uuid, text) TO msteams_app;
COMMENT ON FUNCTION msteams.delete_route(uuid, text) IS
'Delete the tenant''s route p_route. Returns false when it did not exist.';
