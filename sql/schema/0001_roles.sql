-- 0001 roles: the five NOLOGIN group roles of pgteams (DESIGN §5).
-- Roles belong to the cluster, not the database: creating them is safe when another database
-- of the same cluster (or a concurrent migrate) already made them.
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['msteams_owner', 'msteams_app', 'msteams_runner',
                                  'msteams_reader', 'msteams_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;   -- created meanwhile by a migrate of another database
            END;
        END IF;
    END LOOP;
    -- The migrating role creates objects as msteams_owner (SET ROLE), so it must be a member.
    IF NOT pg_catalog.pg_has_role(current_user, 'msteams_owner', 'MEMBER') THEN
        EXECUTE format('GRANT msteams_owner TO %I', current_user);
    END IF;
END
$roles$;

-- Who can do what (function grants follow each function):
--   msteams_reader  read functions and views, scoped to one tenant by RLS
--   msteams_app     the host application: enqueue, audit, conversation references; also reads
--   msteams_runner  claim/complete only
--   msteams_admin   maintenance, purge, reads across tenants
GRANT msteams_reader TO msteams_app;
GRANT msteams_reader TO msteams_admin;
