-- payload_hash: the SHA-256 of a value's canonical_json text, the payload_hash stored in audit_events
-- (DESIGN §10, docs/sql-api.md). Changing it changes every stored hash: never edit it.
CREATE OR REPLACE FUNCTION msteams.payload_hash(p_value jsonb)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE
    PARALLEL SAFE
    STRICT
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(msteams.canonical_json(p_value), 'UTF8')), 'hex')
$fn$;
ALTER FUNCTION msteams.payload_hash(jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.payload_hash(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.payload_hash(jsonb) TO msteams_reader;
COMMENT ON FUNCTION msteams.payload_hash(jsonb) IS
'Lowercase hex SHA-256 (64 characters) of the UTF-8 bytes of msteams.canonical_json(p_value): the payload_hash stored in audit_events. NULL in, NULL out (record_audit_event hashes a missing input as the JSON null, i.e. the 4 bytes "null"). See docs/sql-api.md.';
