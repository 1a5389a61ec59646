-- lookup_bot_tenants: which tenants an inbound Bot Framework activity may be for. `pgteams serve`
-- reads the organisation's Entra tenant id from the activity (conversation.tenantId, else
-- channelData.tenant.id), asks this function, and accepts the activity only for the tenant whose
-- bot_app_id is the verified token's audience. It returns no secret and no credential reference,
-- so the inbound endpoint never reads one.
CREATE OR REPLACE FUNCTION msteams.lookup_bot_tenants(p_aad_tenant_id text)
    RETURNS TABLE (tenant uuid, bot_app_id text, install_status text)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF p_aad_tenant_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'lookup_bot_tenants: aad_tenant_id must not be null', COLUMN = 'aad_tenant_id',
            HINT = 'Pass activity.conversation.tenantId (or channelData.tenant.id) of the inbound activity.';
    END IF;
    RETURN QUERY
        SELECT i.tenant, i.bot_app_id, i.install_status
          FROM msteams.integrations AS i
         WHERE i.aad_tenant_id = lower(p_aad_tenant_id)
           AND i.bot_app_id IS NOT NULL
         ORDER BY i.tenant;
END
$fn$;
ALTER FUNCTION msteams.lookup_bot_tenants(text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.lookup_bot_tenants(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.lookup_bot_tenants(text) TO msteams_app;
COMMENT ON FUNCTION msteams.lookup_bot_tenants(text) IS
'The tenants whose integration has this Entra tenant id (case-insensitive) and a bot app id: tenant, bot_app_id, install_status, never a credential. Used by the inbound endpoint (pgteams serve) to pick the tenant whose bot app id is the verified token audience. Errors: 22004 aad_tenant_id NULL.';
