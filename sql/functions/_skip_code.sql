-- Why a delivery cannot be attempted now, or NULL when it can: the one rule shared by enqueue,
-- claim and requeue. p_integration is the tenant's integrations row (NULL when there is none);
-- p_destination_known says the webhook is registered / the bot conversation has a live reference.
CREATE OR REPLACE FUNCTION msteams._skip_code(
    p_integration msteams.integrations, p_transport text, p_destination_known boolean)
    RETURNS text
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN CASE
        WHEN (p_integration).tenant IS NULL OR (p_integration).install_status <> 'active' THEN 'integration_inactive'
        WHEN NOT (p_integration).addon_active THEN 'addon_inactive'
        WHEN p_transport = 'graph' AND ((p_integration).aad_tenant_id IS NULL OR (p_integration).client_id IS NULL
                                        OR (p_integration).credential_ref IS NULL) THEN 'package_misconfigured'
        WHEN p_transport = 'bot' AND ((p_integration).aad_tenant_id IS NULL OR (p_integration).bot_app_id IS NULL
                                      OR coalesce((p_integration).bot_credential_ref, (p_integration).credential_ref) IS NULL)
            THEN 'package_misconfigured'
        WHEN p_transport = 'webhook' AND NOT p_destination_known THEN 'package_misconfigured'
        WHEN p_transport = 'bot' AND NOT p_destination_known THEN 'user_not_mapped'
    END;
END
$fn$;
REVOKE ALL ON FUNCTION msteams._skip_code(msteams.integrations, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION msteams._skip_code(msteams.integrations, text, boolean) IS
'Internal: the skip code of a delivery (integration_inactive, addon_inactive, package_misconfigured, user_not_mapped) or NULL when it can be attempted.';
