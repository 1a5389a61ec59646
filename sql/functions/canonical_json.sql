-- canonical_json: the one documented canonical JSON form (DESIGN §10) that
-- audit_events.payload_hash is computed from. The Python package reproduces it byte for byte;
-- docs/sql-api.md ("canonical_json") is the specification both follow. Changing the form
-- changes every hash: never edit it, add a new function instead.
CREATE OR REPLACE FUNCTION msteams.canonical_json(p_value jsonb)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE
    PARALLEL SAFE
    STRICT
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE pg_catalog.jsonb_typeof(p_value)
        WHEN 'object' THEN
            '{' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.to_jsonb(e.key)::text || ':'
                                                          || msteams.canonical_json(e.value),
                                                          ',' ORDER BY e.key COLLATE "C")
                               FROM pg_catalog.jsonb_each(p_value) AS e), '') || '}'
        WHEN 'array' THEN
            '[' || coalesce((SELECT pg_catalog.string_agg(msteams.canonical_json(a.value), ',' ORDER BY a.ord)
                               FROM pg_catalog.jsonb_array_elements(p_value) WITH ORDINALITY AS a(value, ord)),
                            '') || ']'
        ELSE p_value::text      -- string, number, true, false, null: PostgreSQL's own jsonb text
    END
$fn$;
ALTER FUNCTION msteams.canonical_json(jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.canonical_json(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.canonical_json(jsonb) TO msteams_reader;
COMMENT ON FUNCTION msteams.canonical_json(jsonb) IS
'The canonical text of a JSON value (pgteams canonical JSON v1), the input of payload_hash. NULL in, NULL out. Object: "{" + members joined by "," + "}", each member = key as a JSON string + ":" + canonical value, members sorted by key in Unicode code point order (= UTF-8 byte order; COLLATE "C"); a duplicate key in the input text keeps its last value. Array: "[" + canonical elements in order joined by "," + "]". No whitespace anywhere outside strings. String: "..." escaping exactly \" \\ \b \f \n \r \t, every other character below U+0020 as \u00XX with lowercase hex, and every other character (including "/", U+007F and all non-ASCII) as its raw UTF-8. Number: PostgreSQL numeric text: plain decimal, never an exponent, no "+", integer part without leading zeros (a single 0 below 1), "-" only when the value is not zero, exactly max(0, F - E) digits after the point where F is the number of digits after the point in the input mantissa and E the input exponent (1.50 -> 1.50, 1e2 -> 100, 1.0e1 -> 10, 100e-2 -> 1.00, -0.0 -> 0.0, 1E-7 -> 0.0000001), no point when that count is 0. Literals: true, false, null. See docs/sql-api.md.';
