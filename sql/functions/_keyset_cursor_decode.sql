-- Keyset pagination shared by the list_* read functions: a cursor made by _keyset_cursor_encode
-- (the format is described there) back to the position it continues after, or a clear 22023.
-- Granted to msteams_reader because the read functions that call it are SECURITY INVOKER (they run
-- as the caller); it touches no table.
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
