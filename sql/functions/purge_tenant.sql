-- purge_tenant: remove one tenant's rows from every msteams table that has a tenant column
-- (offboarding, erasure requests). The tables are discovered from the catalog, so a table added
-- later is covered without touching this function. Order: a table referenced by a foreign key of
-- another tenant table after the tables referencing it; the integration row last, and only once
-- every other table of the tenant is empty (it marks a purge still in progress).
--
-- Each call removes at most p_batch_size rows per table and is its own transaction, so no lock is
-- held for long and an interrupted purge resumes where it stopped: call again until every row
-- says complete (`pgteams purge --execute` loops for you). Rows of partitioned tables are deleted
-- partition by partition by ctid, found through the (tenant, …) primary key.
CREATE OR REPLACE FUNCTION msteams.purge_tenant(
    p_tenant     uuid,
    p_dry_run    boolean DEFAULT true,
    p_force      boolean DEFAULT false,
    p_batch_size integer DEFAULT 10000
)
    RETURNS TABLE (table_name text, rows bigint, complete boolean)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table    record;
    v_leaf     regclass;
    v_status   text;
    v_budget   bigint;
    v_rows     bigint;
    v_deleted  bigint;
    v_left     boolean;
    v_all_done boolean := true;
BEGIN
    IF p_tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'purge_tenant: tenant must not be null', COLUMN = 'tenant',
            HINT = 'Pass the uuid of the tenant to purge.';
    END IF;
    IF p_dry_run IS NULL OR p_force IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('purge_tenant: %s must not be null', CASE WHEN p_dry_run IS NULL THEN 'dry_run' ELSE 'force' END),
            COLUMN = CASE WHEN p_dry_run IS NULL THEN 'dry_run' ELSE 'force' END,
            HINT = 'Pass true or false, or omit it (dry_run defaults to true, force to false).';
    END IF;
    IF p_batch_size IS NULL OR p_batch_size NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('purge_tenant: batch_size %s is out of range', coalesce(p_batch_size::text, 'NULL')),
            COLUMN = 'batch_size', HINT = 'Use a batch size between 1 and 1000000 (default 10000).';
    END IF;

    -- The integration row is locked for the call, so its status cannot change under the purge.
    IF p_dry_run THEN
        SELECT i.install_status INTO v_status FROM msteams.integrations AS i WHERE i.tenant = p_tenant;
    ELSE
        SELECT i.install_status INTO v_status FROM msteams.integrations AS i WHERE i.tenant = p_tenant FOR UPDATE;
    END IF;
    IF v_status = 'active' AND NOT p_force THEN
        IF p_dry_run THEN
            RAISE NOTICE 'purge_tenant: tenant % has an active integration: the purge itself will be refused until it is set inactive (or force is passed)', p_tenant;
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('purge_tenant: tenant %s has an active integration', p_tenant),
                COLUMN = 'tenant',
                HINT = 'Set the integration''s install_status to inactive first (and stop the host enqueueing for it), or pass force => true.';
        END IF;
    END IF;

    FOR v_table IN
        WITH RECURSIVE tenant_tables AS (
            SELECT c.oid AS rel_oid, c.relname, c.relkind
              FROM pg_class AS c
              JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped
             WHERE c.relnamespace = 'msteams'::regnamespace
               AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ), edges AS (       -- referencing table -> referenced table, among tenant tables
            SELECT DISTINCT con.conrelid AS from_oid, con.confrelid AS to_oid
              FROM pg_constraint AS con
             WHERE con.contype = 'f' AND con.conrelid <> con.confrelid
               AND con.conrelid IN (SELECT tt.rel_oid FROM tenant_tables AS tt)
               AND con.confrelid IN (SELECT tt.rel_oid FROM tenant_tables AS tt)
        ), depth AS (       -- a referenced table sits deeper than every table referencing it
            SELECT tt.rel_oid, 0 AS level, ARRAY[tt.rel_oid] AS path FROM tenant_tables AS tt
            UNION ALL
            SELECT e.to_oid, dp.level + 1, dp.path || e.to_oid
              FROM depth AS dp JOIN edges AS e ON e.from_oid = dp.rel_oid
             WHERE e.to_oid <> ALL (dp.path)
        )
        SELECT tt.rel_oid::regclass AS rel, tt.relname::text AS relname, tt.relkind
          FROM tenant_tables AS tt JOIN depth AS dp ON dp.rel_oid = tt.rel_oid
         GROUP BY tt.rel_oid, tt.relname, tt.relkind
         ORDER BY (tt.relname = 'integrations'), max(dp.level), tt.relname
    LOOP
        v_rows := 0;
        IF p_dry_run THEN
            EXECUTE format('SELECT count(*) FROM %s AS t WHERE t.tenant = $1', v_table.rel)
               INTO v_rows USING p_tenant;
            v_left := v_rows > 0;
        ELSIF v_table.relname = 'integrations' AND NOT v_all_done THEN
            -- Kept until everything else is gone: it marks the purge as still in progress.
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s AS t WHERE t.tenant = $1)', v_table.rel)
               INTO v_left USING p_tenant;
        ELSE
            IF v_table.rel = 'msteams.audit_events'::regclass THEN
                -- See _audit_events_append_only.sql. A SET LOCAL statement rather than set_config():
                -- Citus propagates SET LOCAL to the nodes running the shards (docs/scaling.md).
                EXECUTE 'SET LOCAL msteams.audit_removal = on';
            END IF;
            v_budget := p_batch_size;
            FOR v_leaf IN
                SELECT v_table.rel WHERE v_table.relkind = 'r'
                UNION ALL
                SELECT pt.relid FROM pg_partition_tree(v_table.rel) AS pt
                 WHERE v_table.relkind = 'p' AND pt.isleaf
            LOOP
                EXIT WHEN v_budget <= 0;
                -- t.tenant = $1 twice: routes the statement to the tenant's shard on Citus.
                EXECUTE format('DELETE FROM %1$s AS t WHERE t.tenant = $1 AND t.ctid = ANY (ARRAY(
                                    SELECT s.ctid FROM %1$s AS s WHERE s.tenant = $1 LIMIT $2))', v_leaf)
                   USING p_tenant, v_budget;
                GET DIAGNOSTICS v_deleted = ROW_COUNT;
                v_rows   := v_rows + v_deleted;
                v_budget := v_budget - v_deleted;
            END LOOP;
            IF v_table.rel = 'msteams.audit_events'::regclass THEN
                EXECUTE 'SET LOCAL msteams.audit_removal = off';
            END IF;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s AS t WHERE t.tenant = $1)', v_table.rel)
               INTO v_left USING p_tenant;
        END IF;
        v_all_done := v_all_done AND NOT v_left;
        table_name := v_table.relname;
        rows       := v_rows;
        complete   := NOT v_left;
        RETURN NEXT;
    END LOOP;
END
$fn$;
ALTER FUNCTION msteams.purge_tenant(uuid, boolean, boolean, integer) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.purge_tenant(uuid, boolean, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.purge_tenant(uuid, boolean, boolean, integer) TO msteams_admin;
COMMENT ON FUNCTION msteams.purge_tenant(uuid, boolean, boolean, integer) IS
'Remove p_tenant''s rows from every msteams table with a tenant column (found in the catalog), in dependency order, the integration row last; at most p_batch_size rows per table per call. Returns per table the rows removed (dry run: the rows that would be) and whether none are left; call again until every table is complete. A dry run (the default) deletes nothing. Raises 55000 while the tenant''s integration is active unless p_force, 22004 on NULL arguments, 22023 on a bad batch size.';
