-- A timestamptz from text, or NULL when the text is not one (PostgreSQL 15 has no pg_input_is_valid).
CREATE OR REPLACE FUNCTION msteams._to_timestamptz(p_value text)
    RETURNS timestamptz
    LANGUAGE plpgsql
    STABLE
    STRICT          -- NULL in, NULL out, without entering the exception block (a subtransaction)
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN p_value::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._to_timestamptz(text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._to_timestamptz(text) IS 'Internal: text to timestamptz, NULL when it is not a valid timestamp.';
