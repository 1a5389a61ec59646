-- canonical_json / payload_hash: the documented canonical JSON form (docs/sql-api.md), byte for byte.
BEGIN;
SELECT plan(27);

SELECT has_function('msteams', 'canonical_json', ARRAY['jsonb']);
SELECT has_function('msteams', 'payload_hash', ARRAY['jsonb']);
SELECT volatility_is('msteams', 'canonical_json', ARRAY['jsonb'], 'immutable');
SELECT is_strict('msteams', 'canonical_json', ARRAY['jsonb']);
SELECT function_privs_are('msteams', 'canonical_json', ARRAY['jsonb'], 'msteams_reader', ARRAY['EXECUTE'],
                          'readers may compute the canonical form');
SELECT function_privs_are('msteams', 'payload_hash', ARRAY['jsonb'], 'msteams_reader', ARRAY['EXECUTE'],
                          'readers may compute a payload hash');

SET LOCAL ROLE msteams_reader;
-- Scalars are PostgreSQL's own jsonb text.
SELECT is(msteams.canonical_json('null'), 'null', 'null');
SELECT is(msteams.canonical_json('true'), 'true', 'true');
SELECT is(msteams.canonical_json('"s"'), '"s"', 'a top-level string');
SELECT is(msteams.canonical_json(NULL), NULL, 'SQL NULL in, NULL out (STRICT)');
SELECT is(msteams.canonical_json('{}'), '{}', 'an empty object');
SELECT is(msteams.canonical_json('[]'), '[]', 'an empty array');
SELECT is(msteams.canonical_json('[ 3 , 1 , [ ] , { } ]'), '[3,1,[],{}]', 'arrays keep their order, without whitespace');
-- Numbers: plain decimal, scale max(0, fraction digits - exponent), no sign on zero.
SELECT is(msteams.canonical_json('[1.50, 1e2, 1.0e1, 100e-2, -0.0, -0, 1E-7, 1.23e5, -1.5E-10, 0e5, 12345678901234567890.5]'),
          '[1.50,100,10,1.00,0.0,0,0.0000001,123000,-0.00000000015,0,12345678901234567890.5]',
          'numbers print as PostgreSQL numeric text');
-- Keys sort by code point, not by jsonb's (length, bytes) order; nested objects too.
SELECT is(msteams.canonical_json('{"b":1,"aa":2,"a":3,"B":4,"ä":5,"～":6,"😀":7,"":8}'),
          '{"":8,"B":4,"a":3,"aa":2,"b":1,"ä":5,"～":6,"😀":7}',
          'object keys sort in Unicode code point order (supplementary characters after the BMP)');
SELECT is(msteams.canonical_json('{"z":{"y":[{"b":null,"a":false}],"x":{}}}'),
          '{"z":{"x":{},"y":[{"a":false,"b":null}]}}', 'nested objects are sorted at every level');
SELECT is(msteams.canonical_json('{"a":1,"a":2}'), '{"a":2}', 'a duplicate key keeps its last value');
-- Strings: escaped as to_jsonb(text)::text does.
SELECT is(msteams.canonical_json(to_jsonb(E'q" b\\ s/ \b \f \n \r \t \x01 \x1f \x7f é 😀'::text)),
          E'"q\\" b\\\\ s/ \\b \\f \\n \\r \\t \\u0001 \\u001f \x7f é 😀"',
          'strings: \" \\ \b \f \n \r \t escaped, other controls as \u00XX (lowercase), the rest raw UTF-8');
SELECT is(msteams.canonical_json('"\u00e9\u001F\/"'), '"é\u001f/"',
          'JSON escapes in the input are decoded first, then re-escaped canonically');
SELECT is(msteams.canonical_json('{"key with \"quote\"":"v"}'), '{"key with \"quote\"":"v"}',
          'keys are escaped like strings');
SELECT is(msteams.canonical_json('{"b":1, "a":[1,{"d":1,"c":2}]}'), msteams.canonical_json('{"a":[1,{"c":2,"d":1}],"b":1}'),
          'two spellings of the same object have one canonical form');

-- payload_hash = lowercase hex SHA-256 of the UTF-8 bytes of the canonical form.
SELECT is(msteams.payload_hash('null'), '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b',
          'the hash of JSON null is sha256("null")');
SELECT is(msteams.payload_hash('{}'), '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
          'the hash of {} is sha256("{}")');
-- The test vector of docs/sql-api.md (its hash was computed independently, in Python's hashlib).
SELECT is(msteams.canonical_json('{"b":[1,2.50,{"z":null,"a":true}],"a":"x\ny \u00e9","\uff5e":0,"\ud83d\ude00":1e2,"aa":false,"B":-0.0}'),
          E'{"B":0.0,"a":"x\\ny é","aa":false,"b":[1,2.50,{"a":true,"z":null}],"～":0,"😀":100}',
          'the documented test vector: canonical form');
SELECT is(msteams.payload_hash('{"b":[1,2.50,{"z":null,"a":true}],"a":"x\ny \u00e9","\uff5e":0,"\ud83d\ude00":1e2,"aa":false,"B":-0.0}'),
          '2a407e758eac4ea254639d8a36b1193ce69c6af25ad5a60a7a3ab963b77e7d21',
          'the documented test vector: hash');
SELECT matches(msteams.payload_hash('{"any":"thing"}'), '^[0-9a-f]{64}$', 'a hash is 64 lowercase hex digits');
SELECT is(msteams.payload_hash(NULL), NULL, 'payload_hash: SQL NULL in, NULL out');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
