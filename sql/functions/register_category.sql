-- register_category: add a host-specific notification category (DESIGN §9), or update the
-- description of one that exists. A category is never renamed or repurposed.
CREATE OR REPLACE FUNCTION msteams.register_category(
    p_category     text,
    p_description  text,
    p_max_attempts smallint DEFAULT 6,
    p_default_ttl  interval DEFAULT NULL
)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_existing msteams.categories%ROWTYPE;
BEGIN
    IF p_category IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_category: category must not be null', COLUMN = 'category',
            HINT = 'Pass a snake_case category such as contract_renewal.';
    END IF;
    IF p_category !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'register_category: category is not a valid identifier', COLUMN = 'category',
            HINT = 'Use 1 to 63 characters: a lowercase letter, then lowercase letters, digits or underscores.';
    END IF;
    IF p_description IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_category: description must not be null', COLUMN = 'description',
            HINT = 'Describe the category in a few words, e.g. ''A contract is up for renewal''.';
    END IF;
    IF btrim(p_description) = '' OR char_length(p_description) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'register_category: description must be 1 to 500 characters', COLUMN = 'description',
            HINT = 'Describe the category in a few words, e.g. ''A contract is up for renewal''.';
    END IF;
    IF p_max_attempts IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_category: max_attempts must not be null', COLUMN = 'max_attempts',
            HINT = 'Use a number of attempts between 1 and 50, or omit it for the default 6.';
    END IF;
    IF p_max_attempts NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('register_category: max_attempts %s is out of range', p_max_attempts),
            COLUMN = 'max_attempts', HINT = 'Use a number of attempts between 1 and 50 (default 6).';
    END IF;
    IF p_default_ttl IS NOT NULL AND p_default_ttl <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('register_category: default_ttl %s is not positive', p_default_ttl),
            COLUMN = 'default_ttl', HINT = 'Use a positive interval such as ''1 day'', or NULL for no expiry.';
    END IF;

    INSERT INTO msteams.categories AS c (category, description, max_attempts, default_ttl)
    VALUES (p_category, p_description, p_max_attempts, p_default_ttl)
    ON CONFLICT ON CONSTRAINT categories_pkey DO NOTHING;
    IF FOUND THEN
        RETURN 'inserted';
    END IF;

    SELECT c.* INTO STRICT v_existing FROM msteams.categories AS c
     WHERE c.category = p_category FOR UPDATE;
    IF v_existing.max_attempts <> p_max_attempts
       OR v_existing.default_ttl IS DISTINCT FROM p_default_ttl THEN
        RAISE NOTICE 'register_category: % keeps max_attempts = % and default_ttl = % (only the description is updated)',
            p_category, v_existing.max_attempts, coalesce(v_existing.default_ttl::text, 'NULL');
    END IF;
    IF v_existing.description = p_description THEN
        RETURN 'unchanged';
    END IF;
    UPDATE msteams.categories AS c SET description = p_description WHERE c.category = p_category;
    RETURN 'updated';
END
$fn$;
ALTER FUNCTION msteams.register_category(text, text, smallint, interval) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.register_category(text, text, smallint, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.register_category(text, text, smallint, interval) TO msteams_admin;
COMMENT ON FUNCTION msteams.register_category(text, text, smallint, interval) IS
'Register a notification category (snake_case, 1-63 characters) with its description, retry budget (max_attempts 1-50, default 6) and default expiry (NULL: none); idempotent. Returns inserted, updated (description changed) or unchanged. An existing category keeps its max_attempts and default_ttl (a NOTICE says so when the arguments differ): only its description is updated. Raises 22004/22023 naming the field.';
