-- Where a delivery goes, or why it cannot be attempted: the one place that decides its transport,
-- its bot conversation and its skip code (docs/sql-api.md, "Skip codes"). Enqueue and requeue call
-- it to decide; claim calls it again with what the delivery was queued with, because the
-- integration, the webhook or the conversation may have changed while it waited.
--
--   transport     p_queued_transport, else msteams._transport(p_destination_type, p_payload).
--   conversation  bot only. p_queued_conversation_id, else resolved from the destination: an active
--                 reference whose conversation id is the destination id, or (chat) the user's
--                 personal conversation; an exact conversation match first, then the latest activity.
--   skip_code     the first that applies: expired (p_expires_at has passed), integration_inactive,
--                 addon_inactive, package_misconfigured (the transport's settings are incomplete, or
--                 the webhook is not registered), user_not_mapped (bot: no active reference); NULL
--                 when the delivery can be attempted.
-- It also returns what the runner sends with: the conversation's serviceUrl, the webhook URL (a
-- secret) and the tenant's own integration settings.
--
-- LANGUAGE sql, STABLE, no SET clause and one SELECT, on purpose: PostgreSQL then inlines it into
-- the calling statement, so `CROSS JOIN LATERAL msteams._where_to_send(...)` over 1,000 deliveries
-- is planned as one set-based join, not 1,000 function calls. (A SET clause, SECURITY DEFINER,
-- STRICT or PL/pgSQL would each prevent that.) Its callers are SECURITY DEFINER functions with
-- search_path pinned, and every name below is schema-qualified. A SQL body is checked when it is
-- created: this file loads after _transport.sql (the code step loads files in name order).
-- Scalar arguments only, each table filtered by tenant = p_tenant: on Citus it routes to the
-- tenant's shard (a whole-row argument of a table does not survive the trip to a shard).
CREATE OR REPLACE FUNCTION msteams._where_to_send(
    p_tenant                 uuid,
    p_destination_type       text,
    p_destination_id         text,
    p_payload                jsonb,
    p_queued_transport       text        DEFAULT NULL,
    p_queued_conversation_id text        DEFAULT NULL,
    p_expires_at             timestamptz DEFAULT NULL
)
    RETURNS TABLE (transport text, conversation_id text, service_url text, webhook_url text, skip_code text,
                   aad_tenant_id text, client_id text, credential_ref text, bot_app_id text,
                   bot_credential_ref text, teams_app_id text)
    LANGUAGE sql
    STABLE
AS $fn$
    SELECT t.transport, conv.conversation_id, conv.service_url, w.url,
           CASE
               WHEN p_expires_at <= pg_catalog.now() THEN 'expired'
               WHEN ig.tenant IS NULL OR ig.install_status <> 'active' THEN 'integration_inactive'
               WHEN NOT ig.addon_active THEN 'addon_inactive'
               WHEN t.transport = 'graph'
                    AND (ig.aad_tenant_id IS NULL OR ig.client_id IS NULL OR ig.credential_ref IS NULL)
                   THEN 'package_misconfigured'
               WHEN t.transport = 'bot'
                    AND (ig.aad_tenant_id IS NULL OR ig.bot_app_id IS NULL
                         OR coalesce(ig.bot_credential_ref, ig.credential_ref) IS NULL)
                   THEN 'package_misconfigured'
               WHEN t.transport = 'webhook' AND w.url IS NULL THEN 'package_misconfigured'
               WHEN t.transport = 'bot' AND conv.conversation_id IS NULL THEN 'user_not_mapped'
           END,
           ig.aad_tenant_id, ig.client_id, ig.credential_ref, ig.bot_app_id, ig.bot_credential_ref, ig.teams_app_id
      -- OFFSET 0: computed once per delivery, not again at each of the references below
      FROM (SELECT coalesce(p_queued_transport, msteams._transport(p_destination_type, p_payload)) AS transport
             OFFSET 0) AS t
      LEFT JOIN msteams.integrations AS ig ON ig.tenant = p_tenant
      -- The lookups below run only for their transport: the condition on t gates the scan (OFFSET 0
      -- and LIMIT 1 keep each a sub-query of its own, where that condition is checked first).
      LEFT JOIN LATERAL (
            SELECT wh.url FROM msteams.webhooks AS wh
             WHERE t.transport = 'webhook' AND wh.tenant = p_tenant AND wh.webhook_name = p_destination_id
            OFFSET 0) AS w ON true
      LEFT JOIN LATERAL (   -- the conversation of that id (the latest activity among its users' references) …
            SELECT cr.conversation_id, cr.service_url FROM msteams.conversation_references AS cr
             WHERE t.transport = 'bot' AND cr.tenant = p_tenant AND cr.status = 'active'
               AND cr.conversation_id = coalesce(p_queued_conversation_id, p_destination_id)
             ORDER BY cr.last_activity_at DESC
             LIMIT 1) AS exact ON true
      LEFT JOIN LATERAL (   -- … else, for a chat to a user id, that user's latest personal conversation
            SELECT cr.conversation_id, cr.service_url FROM msteams.conversation_references AS cr
             WHERE t.transport = 'bot' AND exact.conversation_id IS NULL
               AND p_queued_conversation_id IS NULL AND p_destination_type = 'chat'
               AND cr.tenant = p_tenant AND cr.status = 'active'
               AND cr.microsoft_user_id = p_destination_id AND cr.conversation_type = 'personal'
             ORDER BY cr.last_activity_at DESC
             LIMIT 1) AS personal ON true
     CROSS JOIN LATERAL (SELECT coalesce(exact.conversation_id, personal.conversation_id) AS conversation_id,
                                coalesce(exact.service_url, personal.service_url) AS service_url) AS conv
$fn$;
ALTER FUNCTION msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION msteams._where_to_send(uuid, text, text, jsonb, text, text, timestamptz) IS
'Internal (enqueue, requeue, claim): where a delivery of p_tenant goes and with what, or why it cannot be attempted. transport: p_queued_transport, else from the destination type and payload (_transport). conversation (bot): p_queued_conversation_id, else the active reference whose conversation id is the destination, else (chat) the user''s latest personal conversation. skip_code: expired (p_expires_at passed), integration_inactive, addon_inactive, package_misconfigured, user_not_mapped, or NULL. Also the serviceUrl, the webhook URL and the tenant''s integration settings. Inlined into its callers (LANGUAGE sql, no SET clause).';
