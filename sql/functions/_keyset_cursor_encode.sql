-- Keyset pagination shared by the list_* read functions: the one cursor format (decoded by
-- _keyset_cursor_decode).
--
-- A cursor is the position after the last row of a page, newest first on (created_at, id).
-- It is opaque to callers: base64url (no padding) of the UTF-8 text
--     v1|<scope>|<filters>|<created_at as integer microseconds since 1970-01-01 UTC>|<id>
-- where <scope> names the list (deliveries, audit_events) and <filters> is the first 16 hex
-- digits of the SHA-256 of the caller's filter text (tenant and filters), so a cursor is refused
-- by another list, or under other filters, instead of silently paging the wrong result.
-- Microseconds since the epoch keep the cursor independent of TimeZone and DateStyle.
-- Granted to msteams_reader because the read functions that call it are SECURITY INVOKER (they run
-- as the caller); it touches no table.
CREATE OR REPLACE FUNCTION msteams._keyset_cursor_encode(
    p_scope      text,
    p_filters    text,
    p_created_at timestamptz,
    p_id         bigint
)
    RETURNS text
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.rtrim(pg_catalog.translate(
               pg_catalog.encode(pg_catalog.convert_to(
                   pg_catalog.concat_ws('|', 'v1', p_scope,
                       pg_catalog.substr(pg_catalog.encode(pg_catalog.sha256(
                           pg_catalog.convert_to(p_filters, 'UTF8')), 'hex'), 1, 16),
                       (extract(epoch FROM p_created_at) * 1000000)::bigint,
                       p_id), 'UTF8'), 'base64'),
               E'+/\n', '-_'), '=')
$fn$;
ALTER FUNCTION msteams._keyset_cursor_encode(text, text, timestamptz, bigint) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._keyset_cursor_encode(text, text, timestamptz, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams._keyset_cursor_encode(text, text, timestamptz, bigint) TO msteams_reader;
COMMENT ON FUNCTION msteams._keyset_cursor_encode(text, text, timestamptz, bigint) IS
'Internal: the opaque cursor (base64url of v1|scope|filters digest|created_at in epoch microseconds|id) that continues a newest-first page after the row (p_created_at, p_id).';
