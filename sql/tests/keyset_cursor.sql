-- keyset_cursor: the shared limit rule and cursor format of the list_* functions.
BEGIN;
SELECT plan(12);

SELECT ok(has_function_privilege('msteams_reader', p.oid, 'EXECUTE'), format('readers may execute %s (called by SECURITY INVOKER reads)', p.oid::regprocedure))
  FROM pg_proc AS p
 WHERE p.pronamespace = 'msteams'::regnamespace AND p.proname IN ('_keyset_limit', '_keyset_cursor_encode', '_keyset_cursor_decode')
 ORDER BY p.proname;

SET LOCAL ROLE msteams_reader;
SET LOCAL TimeZone = 'Pacific/Chatham';
SELECT results_eq(
    $$ SELECT d.after_created_at, d.after_id
         FROM unnest(ARRAY['2026-01-31 23:59:59.999999+00', '1969-12-31 23:59:59.5+00', '2000-02-29 12:00:00+05:30']::timestamptz[],
                     ARRAY[1, 9223372036854775, 42]::bigint[]) AS t(ts, id)
        CROSS JOIN LATERAL msteams._keyset_cursor_decode('f', 'scope', 'filters',
                               msteams._keyset_cursor_encode('scope', 'filters', t.ts, t.id)) AS d $$,
    $$ VALUES ('2026-01-31 23:59:59.999999+00'::timestamptz, 1::bigint), ('1969-12-31 23:59:59.5+00', 9223372036854775),
              ('2000-02-29 12:00:00+05:30', 42) $$,
    'a cursor decodes to exactly the position it was made from (microseconds, before 1970, any time zone)');
SELECT matches(msteams._keyset_cursor_encode('scope', repeat('f', 500), now(), 9223372036854775),
               '^[A-Za-z0-9_-]+$', 'a cursor is base64url without padding or line breaks, even when long');
SELECT is(convert_from(decode(translate(msteams._keyset_cursor_encode('deliveries', 'x', '1970-01-01 00:00:01+00', 7), '-_', '+/') || '==', 'base64'), 'UTF8'),
          'v1|deliveries|' || substr(encode(sha256('x'), 'hex'), 1, 16) || '|1000000|7',
          'the decoded text: version, scope, filters digest, epoch microseconds, id');
SELECT results_eq($$ SELECT d.after_created_at, d.after_id FROM msteams._keyset_cursor_decode('f', 's', 'x', NULL) AS d $$,
                  $$ VALUES ('infinity'::timestamptz, 9223372036854775807::bigint) $$, 'no cursor: from the very start');
SELECT throws_ok($$ SELECT * FROM msteams._keyset_cursor_decode('list_x', 's', 'x',
                     translate(rtrim(encode(convert_to('v2|s|' || substr(encode(sha256('x'), 'hex'), 1, 16) || '|1|1', 'UTF8'),
                                            'base64'), '='), '+/', '-_')) $$, '22023',
                 'list_x: cursor is not valid', 'another version tag is refused');
SELECT throws_ok($$ SELECT * FROM msteams._keyset_cursor_decode('list_x', 's', 'y',
                     msteams._keyset_cursor_encode('s', 'x', now(), 1)) $$, '22023',
                 'list_x: cursor was made for another tenant or other filters', 'other filters are refused');
SELECT throws_ok($$ SELECT * FROM msteams._keyset_cursor_decode('list_x', 's', 'x', repeat('A', 401)) $$, '22023', NULL,
                 'an over-long cursor is refused');
SELECT is(msteams._keyset_limit('f', 200), 200, 'limit 200 is allowed');
SELECT throws_ok($$ SELECT msteams._keyset_limit('list_x', -1) $$, '22023', 'list_x: limit -1 is out of range', 'a negative limit is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
