-- 0003 tenant scope: the two helpers every tenant table's row-level security is built from.
-- They live in a schema step (not sql/functions/) because policies depend on them.

CREATE FUNCTION msteams.current_tenant()
    RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
AS $fn$
    SELECT nullif(pg_catalog.current_setting('msteams.tenant', true), '')::uuid
$fn$;
REVOKE ALL ON FUNCTION msteams.current_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.current_tenant() TO msteams_reader;
COMMENT ON FUNCTION msteams.current_tenant() IS
'The tenant this session acts for: the msteams.tenant setting as a uuid, NULL when unset. Set it with SET LOCAL msteams.tenant = ''<uuid>'' or set_config(''msteams.tenant'', $1, true).';

-- Enable row-level security on one table (or partition) the same way everywhere:
-- readers see the rows of the tenant in msteams.tenant; admins see every tenant; nobody but
-- the owner (the SECURITY DEFINER API functions) writes. p_columns limits what readers may
-- select (NULL: every column), so secrets such as webhook URLs stay out of reach.
CREATE FUNCTION msteams._secure_tenant_table(p_table regclass, p_columns text[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := (SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.oid = p_table);
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy AS p
                    WHERE p.polrelid = p_table AND p.polname = v_name || '_tenant_read') THEN
        EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO msteams_reader
                            USING (tenant = (SELECT msteams.current_tenant()))',
                       v_name || '_tenant_read', p_table);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy AS p
                    WHERE p.polrelid = p_table AND p.polname = v_name || '_admin_read') THEN
        EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO msteams_admin USING (true)',
                       v_name || '_admin_read', p_table);
    END IF;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_table);
    IF p_columns IS NULL THEN
        EXECUTE format('GRANT SELECT ON %s TO msteams_reader', p_table);
    ELSE
        EXECUTE format('GRANT SELECT (%s) ON %s TO msteams_reader',
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(p_columns) AS c), p_table);
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._secure_tenant_table(regclass, text[]) FROM PUBLIC;
COMMENT ON FUNCTION msteams._secure_tenant_table(regclass, text[]) IS
'Internal: enable RLS with the standard tenant/admin read policies and the standard grants on a tenant table or partition.';
