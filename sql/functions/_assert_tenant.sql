-- The tenant check of the write functions (docs/sql-api.md, "Calling conventions"); the read
-- functions have _assert_read_tenant.
--
-- Writes: the SECURITY DEFINER write functions call this first. When the session has a tenant
-- context (SET LOCAL msteams.tenant) it must be the tenant written to; without one the call is
-- allowed (a host that writes for several tenants from one connection sets nothing).
CREATE OR REPLACE FUNCTION msteams._assert_tenant(p_function text, p_tenant uuid)
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
            HINT = 'Pass the tenant uuid the call is for.';
    END IF;
    IF v_context IS NOT NULL AND v_context <> p_tenant THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: tenant %s does not match msteams.tenant', p_function, p_tenant),
            COLUMN = 'tenant',
            HINT = 'Pass the tenant set in msteams.tenant for this transaction, or set msteams.tenant to it.';
    END IF;
END
$fn$;
ALTER FUNCTION msteams._assert_tenant(text, uuid) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._assert_tenant(text, uuid) FROM PUBLIC;
COMMENT ON FUNCTION msteams._assert_tenant(text, uuid) IS
'Internal, for write functions: raise 22004 when p_tenant is NULL, and 42501 when msteams.tenant is set to another tenant (unset is allowed). p_function names the caller in the message.';
