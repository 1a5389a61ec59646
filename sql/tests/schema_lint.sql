-- schema_lint: the security and documentation rules every msteams object must follow.
BEGIN;
SELECT plan(13);

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND p.prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS c WHERE c LIKE 'search_path=%')
$$, 'every SECURITY DEFINER function pins search_path');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND p.prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c
                        WHERE c IN ('search_path=pg_catalog, pg_temp', 'search_path=pg_catalog,pg_temp'))
$$, 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp (pg_temp last)');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every function has a COMMENT ON FUNCTION');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND obj_description(c.oid, 'pg_class') IS NULL
$$, 'every table, partition, view and sequence has a COMMENT ON');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE')
$$, 'no function is executable by PUBLIC');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
      JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
$$, 'every table and partition with a tenant column has row level security enabled');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
      JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_policy AS p WHERE p.polrelid = c.oid AND p.polname LIKE '%\_tenant\_read')
$$, 'every table and partition with a tenant column has the tenant read policy');

SELECT is_empty($$
    SELECT con.conrelid::regclass::text FROM pg_constraint AS con
      JOIN pg_class AS c ON c.oid = con.conrelid
     WHERE c.relnamespace = 'msteams'::regnamespace AND con.contype = 'p'
       AND EXISTS (SELECT 1 FROM pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'tenant')
       AND (SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) <> 'tenant'
$$, 'every primary key of a tenant table starts with tenant');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
     WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind = 'v'
       AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
$$, 'every view is security_invoker');

-- One writer per record, one decision per delivery (docs/architecture.md, "A delivery's life").
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND p.proname <> '_write_ledger'
       AND p.prosrc ~* 'insert\s+into\s+msteams\.notification_deliveries\M'
$$, 'only msteams._write_ledger inserts ledger rows');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND p.proname <> '_write_dead_letters'
       AND p.prosrc ~* '(insert\s+into|update)\s+msteams\.dead_letter_payloads\M'
$$, 'only msteams._write_dead_letters inserts or updates dead letters');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace AND p.proname <> '_where_to_send'
       AND p.prosrc ~ '''(expired|integration_inactive|addon_inactive|package_misconfigured|user_not_mapped)'''
$$, 'only msteams._where_to_send decides a skip code');

-- Citus: a shard's row has a type of its own (<table>_<shard id>), so no function may take a table's row.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
     WHERE p.pronamespace = 'msteams'::regnamespace
       AND EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) AS a(typ)
                     JOIN pg_type AS t ON t.oid = a.typ
                     LEFT JOIN pg_type AS e ON e.oid = t.typelem AND t.typcategory = 'A'
                    WHERE t.typrelid <> 0 OR e.typrelid <> 0)
$$, 'no function takes a whole row (or an array of rows) of a table as an argument');

SELECT * FROM finish();
ROLLBACK;
