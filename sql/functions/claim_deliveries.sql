-- claim_deliveries: lease due deliveries to a runner, with everything it needs to send them.
CREATE OR REPLACE FUNCTION msteams.claim_deliveries(
    p_worker text,
    p_limit  integer  DEFAULT 50,
    p_lease  interval DEFAULT interval '2 minutes')
    RETURNS TABLE (
        tenant                   uuid,
        delivery_id              bigint,
        lease_id                 uuid,
        attempt_number           smallint,
        reclaimed                boolean,      -- the previous lease had expired (a runner died or hung)
        skip_code                text,         -- not NULL: do not send; complete with status skipped and this code
        transport                text,         -- graph | bot | webhook
        destination_type         text,
        destination_id           text,
        conversation_id          text,
        service_url              text,         -- bot: the conversation's serviceUrl
        webhook_url              text,         -- webhook: the URL (a secret)
        payload                  jsonb,
        category                 text,
        priority                 text,
        internal_notification_id text,
        correlation_id           text,
        event_type               text,
        enqueued_at              timestamptz,
        expires_at               timestamptz,
        aad_tenant_id            text,         -- the delivering tenant's own settings
        client_id                text,
        credential_ref           text,
        bot_app_id               text,
        bot_credential_ref       text,
        teams_app_id             text)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off     -- a pessimistic estimate (bloated, unanalyzed outbox) had LLVM compile every call: docs/benchmarks.md
AS $fn$
DECLARE
    v_paused boolean;
BEGIN
    IF p_worker IS NULL OR p_worker = '' OR length(p_worker) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_worker IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'claim_deliveries: worker must be a non-empty name of at most 200 characters',
            COLUMN = 'worker', HINT = 'Pass a name unique to this runner process, e.g. host:pid.';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('claim_deliveries: limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            COLUMN = 'limit', HINT = 'Claim between 1 and 1000 deliveries at a time.';
    END IF;
    IF p_lease IS NULL OR p_lease < interval '1 second' OR p_lease > interval '1 hour' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'claim_deliveries: lease must be between 1 second and 1 hour',
            COLUMN = 'lease', HINT = 'Pass a lease longer than the slowest send, e.g. interval ''2 minutes''.';
    END IF;

    v_paused := EXISTS (SELECT 1 FROM msteams.throttle_pauses AS tp WHERE tp.paused_until > now());
    RETURN QUERY
    WITH due AS (
        -- One short index range scan per priority (critical first); inside a priority, oldest due
        -- first. available_at <= now() also covers leases that expired: they are claimed again.
        SELECT c.tenant, c.delivery_id, c.locked_by
          FROM generate_series(0, 4) AS r(rank)
         CROSS JOIN LATERAL (
                SELECT o.tenant, o.delivery_id, o.locked_by
                  FROM msteams.outbox AS o
                 WHERE o.priority_rank = r.rank AND o.available_at <= now()
                   -- a scope Microsoft paused with a Retry-After waits, whatever made its rows due
                   -- (the probe runs only while some pause is active: usually never)
                   AND (NOT v_paused OR NOT EXISTS (
                            SELECT 1 FROM msteams.throttle_pauses AS tp
                             WHERE tp.tenant = o.tenant AND tp.paused_until > now()
                               AND tp.scope = msteams._throttle_scope(o.transport, o.conversation_id, o.destination_id)))
                 ORDER BY o.available_at
                 LIMIT p_limit
                   FOR UPDATE SKIP LOCKED) AS c
         LIMIT p_limit
    ), claimed AS (
        UPDATE msteams.outbox AS o
           SET locked_by = p_worker, lease_id = gen_random_uuid(),
               attempt_count = o.attempt_count + 1, available_at = now() + p_lease
          FROM due
         WHERE o.tenant = due.tenant AND o.delivery_id = due.delivery_id
        RETURNING o.*, due.locked_by IS NOT NULL AS was_leased
    )
    SELECT c.tenant, c.delivery_id, c.lease_id, c.attempt_count, c.was_leased, dest.skip_code,
           c.transport, c.destination_type, c.destination_id, c.conversation_id,
           dest.service_url, dest.webhook_url, c.payload, c.category, c.priority, c.internal_notification_id,
           c.correlation_id, c.event_type, c.created_at, c.expires_at,
           dest.aad_tenant_id, dest.client_id, dest.credential_ref, dest.bot_app_id, dest.bot_credential_ref,
           dest.teams_app_id
      FROM claimed AS c
     -- checked again with what it was queued with: things change while a delivery waits
     CROSS JOIN LATERAL msteams._where_to_send(c.tenant, c.destination_type, c.destination_id, c.payload,
                                               c.transport, c.conversation_id, c.expires_at) AS dest
     ORDER BY c.priority_rank, c.delivery_id;          -- send in claim order: critical first
END
$fn$;
ALTER FUNCTION msteams.claim_deliveries(text, integer, interval) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.claim_deliveries(text, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.claim_deliveries(text, integer, interval) TO msteams_runner;
COMMENT ON FUNCTION msteams.claim_deliveries(text, integer, interval) IS
'Lease up to p_limit due deliveries to runner p_worker (FOR UPDATE SKIP LOCKED; critical before info; expired leases are claimed again), each with a fresh lease_id. Returns what the sender needs in one round trip: destination, payload, attempt number, the delivering tenant''s own integration settings, the bot conversation''s serviceUrl or the webhook URL, Deliveries of a scope paused by a Retry-After (throttle_pauses) are not claimed until it has passed. Also returns skip_code when the delivery must not be sent (expired, integration_inactive, addon_inactive, package_misconfigured, user_not_mapped).';
