-- The two derived keys of DESIGN §10, in one place.

CREATE OR REPLACE FUNCTION msteams._enqueue_key(
    p_internal_notification_id text, p_tenant uuid, p_destination_type text, p_destination_id text)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN encode(sha256(convert_to(
               p_internal_notification_id || '|' || p_tenant::text || '|' || p_destination_type || '|' || p_destination_id,
               'UTF8')), 'hex');
END
$fn$;
REVOKE ALL ON FUNCTION msteams._enqueue_key(text, uuid, text, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._enqueue_key(text, uuid, text, text) IS
'Internal: the default enqueue key, hex SHA-256 of internal_notification_id|tenant|destination_type|destination_id (DESIGN §10).';

CREATE OR REPLACE FUNCTION msteams._ledger_key(
    p_internal_notification_id text, p_tenant uuid, p_destination_type text, p_destination_id text,
    p_attempt_number integer)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN encode(sha256(convert_to(
               p_internal_notification_id || '|' || p_tenant::text || '|' || p_destination_type || '|'
               || p_destination_id || '|' || p_attempt_number::text,
               'UTF8')), 'hex');
END
$fn$;
REVOKE ALL ON FUNCTION msteams._ledger_key(text, uuid, text, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION msteams._ledger_key(text, uuid, text, text, integer) IS
'Internal: the ledger key of one attempt, hex SHA-256 of internal_notification_id|tenant|destination_type|destination_id|attempt_number (DESIGN §10).';

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

-- The scope a throttle answer pauses: the tenant's Graph app, one bot conversation, or one webhook.
CREATE OR REPLACE FUNCTION msteams._throttle_scope(p_transport text, p_conversation_id text, p_destination_id text)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE p_transport WHEN 'graph' THEN 'graph'
                            WHEN 'bot' THEN 'bot:' || p_conversation_id
                            ELSE 'webhook:' || p_destination_id END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._throttle_scope(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION msteams._throttle_scope(text, text, text) IS
'Internal: the throttle_pauses scope of a delivery (graph, bot:<conversation>, webhook:<name>).';
