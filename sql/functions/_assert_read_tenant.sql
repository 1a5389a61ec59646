-- The tenant check of the read functions (docs/sql-api.md, "Calling conventions"); the write
-- functions have _assert_tenant.
--
-- Reads: the SECURITY INVOKER read functions call this first. An msteams_admin member may read
-- any tenant; everyone else only the tenant in msteams.tenant, and is refused (not answered with
-- an empty result) for another tenant or when no tenant is set. It runs as the caller (not a
-- definer), so pg_has_role sees the caller's role.
CREATE OR REPLACE FUNCTION msteams._assert_read_tenant(p_function text, p_tenant uuid)
    RETURNS void
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_context uuid := msteams.current_tenant();
BEGIN
    IF p_tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: tenant must not be null', p_function), COLUMN = 'tenant',
            HINT = 'Pass the tenant uuid to read.';
    END IF;
    IF pg_has_role(current_user, 'msteams_admin', 'USAGE') THEN
        RETURN;
    END IF;
    IF v_context IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: tenant %s does not match msteams.tenant (not set)', p_function, p_tenant),
            COLUMN = 'tenant',
            HINT = 'SET LOCAL msteams.tenant to the tenant first; only msteams_admin reads without it.';
    END IF;
    IF v_context <> p_tenant THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: tenant %s does not match msteams.tenant', p_function, p_tenant),
            COLUMN = 'tenant',
            HINT = 'Read the tenant set in msteams.tenant; only msteams_admin reads other tenants.';
    END IF;
END
$fn$;
ALTER FUNCTION msteams._assert_read_tenant(text, uuid) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._assert_read_tenant(text, uuid) FROM PUBLIC;
-- The read functions are SECURITY INVOKER, so their callers need EXECUTE on this helper.
GRANT EXECUTE ON FUNCTION msteams._assert_read_tenant(text, uuid) TO msteams_reader;
COMMENT ON FUNCTION msteams._assert_read_tenant(text, uuid) IS
'Internal, for read functions (runs as the caller): raise 22004 when p_tenant is NULL; unless the caller is a member of msteams_admin, raise 42501 when msteams.tenant is unset or is another tenant.';
