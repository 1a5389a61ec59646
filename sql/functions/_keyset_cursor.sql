-- Keyset pagination shared by the list_* read functions: one limit rule and one cursor format.
--
-- A cursor is the position after the last row of a page, newest first on (created_at, id).
-- It is opaque to callers: base64url (no padding) of the UTF-8 text
--     v1|<scope>|<filters>|<created_at as integer microseconds since 1970-01-01 UTC>|<id>
-- where <scope> names the list (deliveries, audit_events) and <filters> is the first 16 hex
-- digits of the SHA-256 of the caller's filter text (tenant and filters), so a cursor is refused
-- by another list, or under other filters, instead of silently paging the wrong result.
-- Microseconds since the epoch keep the cursor independent of TimeZone and DateStyle.
-- These helpers are granted to msteams_reader because the read functions that call them are
-- SECURITY INVOKER (they run as the caller); they touch no table.

CREATE OR REPLACE FUNCTION msteams._keyset_limit(p_function text, p_limit integer)
    RETURNS integer
    LANGUAGE plpgsql
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF p_limit IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: limit must not be null', p_function), COLUMN = 'limit',
            HINT = 'Use a limit between 1 and 200, or omit it for the default 50.';
    END IF;
    IF p_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: limit %s is out of range', p_function, p_limit), COLUMN = 'limit',
            HINT = 'Use a limit between 1 and 200 (default 50).';
    END IF;
    RETURN p_limit;
END
$fn$;
ALTER FUNCTION msteams._keyset_limit(text, integer) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._keyset_limit(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams._keyset_limit(text, integer) TO msteams_reader;
COMMENT ON FUNCTION msteams._keyset_limit(text, integer) IS
'Internal: validate a page size (1..200; 22004 when NULL, 22023 out of range) and return it. p_function names the caller in the message.';

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

CREATE OR REPLACE FUNCTION msteams._keyset_cursor_decode(
    p_function      text,
    p_scope         text,
    p_filters       text,
    p_cursor        text,
    OUT after_created_at timestamptz,
    OUT after_id         bigint
)
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_text  text;
    v_parts text[];
    v_us    bigint;
BEGIN
    IF p_cursor IS NULL THEN          -- first page: everything is "after" the cursor
        after_created_at := 'infinity';
        after_id := 9223372036854775807;
        RETURN;
    END IF;
    IF p_cursor ~ '^[A-Za-z0-9_-]+$' AND length(p_cursor) <= 400 AND length(p_cursor) % 4 <> 1 THEN
        BEGIN
            v_text := convert_from(decode(translate(p_cursor, '-_', '+/')
                                          || repeat('=', (4 - length(p_cursor) % 4) % 4), 'base64'), 'UTF8');
        EXCEPTION WHEN others THEN    -- not UTF-8: not a cursor we made
            v_text := NULL;
        END;
    END IF;
    v_parts := string_to_array(v_text, '|');
    IF v_parts IS NULL OR cardinality(v_parts) <> 5 OR v_parts[1] <> 'v1' OR v_parts[2] <> p_scope
       OR v_parts[3] !~ '^[0-9a-f]{16}$' OR v_parts[4] !~ '^-?[0-9]{1,17}$' OR v_parts[5] !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: cursor is not valid', p_function), COLUMN = 'cursor',
            HINT = 'Pass next_cursor from the previous page unchanged, or NULL for the first page.';
    END IF;
    IF v_parts[3] <> substr(encode(sha256(convert_to(p_filters, 'UTF8')), 'hex'), 1, 16) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: cursor was made for another tenant or other filters', p_function),
            COLUMN = 'cursor',
            HINT = 'Pass the same tenant and filters as for the page the cursor came from, or NULL to start over.';
    END IF;
    v_us := v_parts[4]::bigint;
    after_created_at := timestamptz 'epoch' + (v_us / 1000000) * interval '1 second'
                                            + (v_us % 1000000) * interval '1 microsecond';
    after_id := v_parts[5]::bigint;
END
$fn$;
ALTER FUNCTION msteams._keyset_cursor_decode(text, text, text, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._keyset_cursor_decode(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams._keyset_cursor_decode(text, text, text, text) TO msteams_reader;
COMMENT ON FUNCTION msteams._keyset_cursor_decode(text, text, text, text) IS
'Internal: the position (created_at, id) a cursor from _keyset_cursor_encode continues after; (infinity, max bigint) for a NULL cursor. Raises 22023 naming cursor for anything it did not make, or made for another scope, tenant or filters. p_function names the caller in the message.';
