-- Statement-level triggers (such as audit_events' TRUNCATE guard) are not cloned to partitions
-- the way row triggers are; copy them so a TRUNCATE of one partition is refused as well.
CREATE OR REPLACE FUNCTION msteams._copy_statement_triggers(p_parent regclass, p_child regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_trigger record;
BEGIN
    FOR v_trigger IN
        SELECT t.tgname, pg_get_triggerdef(t.oid) AS def
          FROM pg_trigger AS t
         WHERE t.tgrelid = p_parent AND NOT t.tgisinternal
           AND (t.tgtype & 1) = 0                 -- statement level
    LOOP
        EXECUTE replace(replace(v_trigger.def, 'CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER'),
                        format(' ON %s ', p_parent), format(' ON %s ', p_child));
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._copy_statement_triggers(regclass, regclass) FROM PUBLIC;
COMMENT ON FUNCTION msteams._copy_statement_triggers(regclass, regclass) IS
'Internal: give a partition the statement-level triggers of its parent (row triggers are cloned by PostgreSQL).';
