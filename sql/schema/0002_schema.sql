-- 0002 schema: the msteams schema, owned by msteams_owner; nothing executable by PUBLIC.
CREATE SCHEMA msteams AUTHORIZATION msteams_owner;
COMMENT ON SCHEMA msteams IS
'pgteams: delivery outbox, delivery ledger and audit ledger for Microsoft Teams. Tables are private; the API is the functions and views.';

-- Functions are created EXECUTE-able by PUBLIC unless the creator's defaults say otherwise.
-- (A per-schema default can only add privileges, so this is the role-wide default.)
ALTER DEFAULT PRIVILEGES FOR ROLE msteams_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA msteams TO msteams_app, msteams_runner, msteams_reader, msteams_admin;
