-- When a failed attempt is tried again: capped exponential backoff with jitter, never sooner than
-- the provider's Retry-After. attempt 1 → 1-2 s, 2 → 2-4 s, 3 → 4-8 s … capped at 15-30 min.
CREATE OR REPLACE FUNCTION msteams._retry_delay(p_attempt integer, p_retry_after interval DEFAULT NULL)
    RETURNS interval
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN greatest(
        coalesce(p_retry_after, interval '0'),
        least(interval '2 seconds' * power(2, greatest(p_attempt, 1) - 1), interval '30 minutes')
            * (0.5 + random() / 2));
END
$fn$;
REVOKE ALL ON FUNCTION msteams._retry_delay(integer, interval) FROM PUBLIC;
COMMENT ON FUNCTION msteams._retry_delay(integer, interval) IS
'Internal: delay before the next attempt: 2 s × 2^(attempt-1), capped at 30 min, times 50-100 % jitter, and never less than Retry-After.';
