-- audit_events is append-only: UPDATE, DELETE and TRUNCATE are refused for every role,
-- the owner and superusers included. Only cleanup_audit_events() and purge_tenant() remove rows:
-- they set msteams.audit_removal for their own transaction first.
CREATE OR REPLACE FUNCTION msteams._audit_events_append_only()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('msteams.audit_removal', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
        MESSAGE = format('audit_events is append-only: %s is not allowed', TG_OP),
        HINT = 'Audit rows are removed only by msteams.cleanup_audit_events() (retention) and msteams.purge_tenant().';
END
$fn$;
REVOKE ALL ON FUNCTION msteams._audit_events_append_only() FROM PUBLIC;
COMMENT ON FUNCTION msteams._audit_events_append_only() IS
'Trigger: refuses UPDATE, DELETE and TRUNCATE on audit_events except inside retention and purge.';

CREATE OR REPLACE TRIGGER audit_events_append_only_row
    BEFORE UPDATE OR DELETE ON msteams.audit_events
    FOR EACH ROW EXECUTE FUNCTION msteams._audit_events_append_only();

-- The TRUNCATE guard is a statement trigger, which PostgreSQL does not clone to partitions: the
-- table and every partition that exists get it here (ensure_partitions gives it to new ones through
-- _copy_statement_triggers). Written out rather than copied from the table so that this file needs
-- no helper that loads after it.
DO $guard$
DECLARE
    v_rel regclass;
BEGIN
    FOR v_rel IN SELECT 'msteams.audit_events'::regclass
                 UNION ALL
                 SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits AS i
                  WHERE i.inhparent = 'msteams.audit_events'::regclass
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER audit_events_append_only_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION msteams._audit_events_append_only()', v_rel);
    END LOOP;
END
$guard$;
