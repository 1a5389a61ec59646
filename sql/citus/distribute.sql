-- sql/citus/distribute.sql: turn an installed msteams schema into a Citus-distributed one.
--
-- Run it as a superuser on the Citus coordinator, after `pgteams migrate` (and again after every
-- migrate that adds a table: it only acts on tables Citus does not know yet):
--     psql "$DSN" -v ON_ERROR_STOP=1 -f sql/citus/distribute.sql
-- What it does (docs/scaling.md says why):
--   * registries (the msteams tables without a tenant column) become reference tables, copied to
--     every node, so every node can check foreign keys and join them locally;
--   * every tenant table except the outbox is distributed by `tenant`, all colocated with
--     msteams.integrations: one tenant's rows of every table live in the same shard group, so a
--     tenant-scoped statement (every API function's) routes to one node;
--   * the outbox becomes a Citus local table on the coordinator, where claim_deliveries'
--     SELECT … FOR UPDATE SKIP LOCKED works across all tenants (Citus routes FOR UPDATE to one
--     shard only: STYLE Part 3 item 6). Partitions made later by ensure_partitions() are
--     distributed by Citus automatically, like their parent.
-- Plain SQL on purpose: pgteams never needs Citus, this script is the only place that does.
-- Safe to run again: tables Citus already knows are left alone.
DO $check$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension AS e WHERE e.extname = 'citus') THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'distribute.sql: the citus extension is not installed in this database',
            HINT = 'Run CREATE EXTENSION citus (with citus in shared_preload_libraries) and add the worker nodes first.';
    END IF;
    IF to_regnamespace('msteams') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'distribute.sql: schema msteams is not installed',
            HINT = 'Run pgteams migrate --dsn … first.';
    END IF;
END
$check$;

-- audit_events keeps its append-only trigger on every shard. Citus calls triggers on distributed
-- tables "unsafe" (a trigger runs on the shard's node); ours only reads a setting, so we allow it,
-- for this session and for every later one (pgteams migrate re-creates the trigger).
SET citus.enable_unsafe_triggers = on;
DO $settings$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
END
$settings$;

DO $distribute$
DECLARE
    v_table   record;
    v_anchor  regclass := 'msteams.integrations';
    v_comment text;
    v_grant   record;
BEGIN
    -- 1. Citus refuses sub-queries in policies on distributed tables, so the tenant read policy
    --    loses its "(SELECT …)" wrapper: tenant = msteams.current_tenant() (a STABLE, inlinable
    --    function; same rows, evaluated per row instead of once). The helper that secures the
    --    partitions ensure_partitions() makes later is switched to the same form.
    FOR v_table IN
        SELECT p.polname, p.polrelid::regclass AS rel
          FROM pg_catalog.pg_policy AS p JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
         WHERE c.relnamespace = 'msteams'::regnamespace AND p.polname LIKE '%\_tenant\_read'
           AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) <> '(tenant = msteams.current_tenant())'
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s USING (tenant = msteams.current_tenant())', v_table.polname, v_table.rel);
    END LOOP;
    EXECUTE replace(pg_catalog.pg_get_functiondef('msteams._secure_tenant_table(regclass, text[])'::regprocedure),
                    'USING (tenant = (SELECT msteams.current_tenant()))', 'USING (tenant = msteams.current_tenant())');

    -- 2. Foreign keys between local tables and the future reference tables would make Citus
    --    convert whole foreign-key graphs on the first create_reference_table: take them off and
    --    put them back once every table has its final kind.
    CREATE TEMP TABLE distribute_fkeys ON COMMIT DROP AS
        SELECT con.conrelid::regclass::text AS rel, con.conname, pg_catalog.pg_get_constraintdef(con.oid) AS def   -- by name: Citus replaces a local table by a shell of the same name
          FROM pg_catalog.pg_constraint AS con JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
         WHERE c.relnamespace = 'msteams'::regnamespace AND con.contype = 'f'
           AND NOT c.relispartition AND con.conparentid = 0
           AND NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = con.conrelid);
    FOR v_table IN SELECT f.rel, f.conname FROM distribute_fkeys AS f LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', v_table.rel, v_table.conname);
    END LOOP;

    -- Views over a table Citus converts are dropped and re-created by Citus without their
    -- comment and grants: remember both, to put them back at the end.
    CREATE TEMP TABLE distribute_views ON COMMIT DROP AS
        SELECT c.oid::regclass::text AS rel, obj_description(c.oid, 'pg_class') AS note, c.relacl AS acl
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind = 'v';

    -- 3. Registries -> reference tables (before anything that has a foreign key to them).
    FOR v_table IN
        SELECT c.oid::regclass AS rel
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                            WHERE a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped)
           AND NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = c.oid)
         ORDER BY c.relname
    LOOP
        RAISE NOTICE 'distribute.sql: % -> reference table', v_table.rel;
        PERFORM create_reference_table(v_table.rel);
    END LOOP;

    -- 4. The anchor of the tenant colocation group.
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = v_anchor) THEN
        RAISE NOTICE 'distribute.sql: % -> distributed by tenant (colocation anchor)', v_anchor;
        PERFORM create_distributed_table(v_anchor, 'tenant');
    END IF;

    -- 5. Every other tenant table, colocated with the anchor; the outbox stays on the coordinator.
    FOR v_table IN
        SELECT c.oid::regclass AS rel
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                        WHERE a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped)
           AND NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = c.oid)
         ORDER BY c.relname
    LOOP
        IF v_table.rel = 'msteams.outbox'::regclass THEN
            RAISE NOTICE 'distribute.sql: % -> Citus local table on the coordinator (SKIP LOCKED claim)', v_table.rel;
            v_comment := obj_description(v_table.rel, 'pg_class');   -- the shell Citus puts in its place has none
            PERFORM citus_add_local_table_to_metadata(v_table.rel);
            EXECUTE format('COMMENT ON TABLE msteams.outbox IS %L', v_comment);
        ELSE
            RAISE NOTICE 'distribute.sql: % -> distributed by tenant, colocated with %', v_table.rel, v_anchor;
            PERFORM create_distributed_table(v_table.rel, 'tenant', colocate_with => v_anchor::text);
        END IF;
    END LOOP;

    -- 6. The views' comments and grants as they were.
    FOR v_table IN SELECT v.rel, v.note, v.acl FROM distribute_views AS v LOOP
        EXECUTE format('COMMENT ON VIEW %s IS %L', v_table.rel, v_table.note);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', v_table.rel);
        FOR v_grant IN
            SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
              FROM aclexplode(v_table.acl) AS a LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
             WHERE a.grantee <> a.grantor
        LOOP
            EXECUTE format('GRANT %s ON %s TO %s', v_grant.privilege_type, v_table.rel, v_grant.grantee);
        END LOOP;
    END LOOP;

    -- 7. The foreign keys again, now between distributed/local tables and reference tables.
    FOR v_table IN SELECT f.rel, f.conname, f.def FROM distribute_fkeys AS f LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', v_table.rel, v_table.conname, v_table.def);
    END LOOP;
END
$distribute$;

-- What it did, for the log.
SELECT p.logicalrelid::regclass AS table_name,
       CASE p.partmethod WHEN 'h' THEN 'distributed by ' || column_to_column_name(p.logicalrelid, p.partkey)
                         WHEN 'n' THEN CASE WHEN p.repmodel = 't' THEN 'reference' ELSE 'citus local' END
                         ELSE p.partmethod::text END AS kind,
       p.colocationid
  FROM pg_dist_partition AS p
 WHERE p.logicalrelid::regclass::text LIKE 'msteams.%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c WHERE c.oid = p.logicalrelid AND c.relispartition)
 ORDER BY 2, 1;
