-- Keyset pagination shared by the list_* read functions: the one page-size rule (the cursor is
-- _keyset_cursor_encode / _keyset_cursor_decode). Granted to msteams_reader because the read
-- functions that call it are SECURITY INVOKER (they run as the caller); it touches no table.
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
