-- upsert_integration: a tenant's Teams settings. The credential is a reference, never a secret.
CREATE OR REPLACE FUNCTION msteams.upsert_integration(
    p_tenant             uuid,
    p_install_status     text    DEFAULT 'active',
    p_addon_active       boolean DEFAULT true,
    p_aad_tenant_id      text    DEFAULT NULL,
    p_client_id          text    DEFAULT NULL,
    p_credential_ref     text    DEFAULT NULL,
    p_bot_app_id         text    DEFAULT NULL,
    p_bot_credential_ref text    DEFAULT NULL,
    p_teams_app_id       text    DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ref_shape constant text := '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/\S+|cert:/\S+#[0-9A-Fa-f]{40})$';
BEGIN
    PERFORM msteams._assert_tenant('upsert_integration', p_tenant);
    IF p_install_status IS NULL OR p_install_status NOT IN ('active', 'inactive', 'suspended') THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_install_status IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = format('upsert_integration: install_status %L is not known', left(p_install_status, 64)),
            COLUMN = 'install_status', HINT = 'Use one of: active, inactive, suspended.';
    END IF;
    IF p_addon_active IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'upsert_integration: addon_active must not be null',
            COLUMN = 'addon_active', HINT = 'Pass true when the tenant is entitled to the Teams add-on.';
    END IF;
    IF p_aad_tenant_id IS NOT NULL
       AND p_aad_tenant_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'upsert_integration: aad_tenant_id is not a GUID',
            COLUMN = 'aad_tenant_id', HINT = 'Pass the organisation''s Entra (Azure AD) tenant id.';
    END IF;
    -- A reference names where the runner finds the secret; a value that does not look like one may
    -- be the secret itself, so it is refused without being echoed.
    IF p_credential_ref IS NOT NULL AND (p_credential_ref !~ v_ref_shape OR length(p_credential_ref) > 512) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'upsert_integration: credential_ref is not a credential reference (value not shown)',
            COLUMN = 'credential_ref',
            HINT = 'Pass env:VARIABLE_NAME, file:/absolute/path or cert:/path/key.pem#<40-hex SHA-1 thumbprint> — never the secret itself.';
    END IF;
    IF p_bot_credential_ref IS NOT NULL AND (p_bot_credential_ref !~ v_ref_shape OR length(p_bot_credential_ref) > 512) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'upsert_integration: bot_credential_ref is not a credential reference (value not shown)',
            COLUMN = 'bot_credential_ref',
            HINT = 'Pass env:VARIABLE_NAME, file:/absolute/path or cert:/path/key.pem#<40-hex SHA-1 thumbprint> — never the secret itself.';
    END IF;
    IF length(p_client_id) > 512 OR length(p_bot_app_id) > 512 OR length(p_teams_app_id) > 512 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('upsert_integration: %s is longer than 512 characters',
                             CASE WHEN length(p_client_id) > 512 THEN 'client_id'
                                  WHEN length(p_bot_app_id) > 512 THEN 'bot_app_id' ELSE 'teams_app_id' END),
            COLUMN = CASE WHEN length(p_client_id) > 512 THEN 'client_id'
                          WHEN length(p_bot_app_id) > 512 THEN 'bot_app_id' ELSE 'teams_app_id' END,
            HINT = 'Pass the app ids as Entra and the Teams admin center show them.';
    END IF;
    INSERT INTO msteams.integrations AS i
           (tenant, install_status, addon_active, aad_tenant_id, client_id, credential_ref,
            bot_app_id, bot_credential_ref, teams_app_id)
    VALUES (p_tenant, p_install_status, p_addon_active, lower(p_aad_tenant_id), p_client_id, p_credential_ref,
            p_bot_app_id, p_bot_credential_ref, p_teams_app_id)
    ON CONFLICT ON CONSTRAINT integrations_pkey DO UPDATE
       SET install_status = EXCLUDED.install_status, addon_active = EXCLUDED.addon_active,
           aad_tenant_id = EXCLUDED.aad_tenant_id, client_id = EXCLUDED.client_id,
           credential_ref = EXCLUDED.credential_ref, bot_app_id = EXCLUDED.bot_app_id,
           bot_credential_ref = EXCLUDED.bot_credential_ref, teams_app_id = EXCLUDED.teams_app_id,
           updated_at = now();
END
$fn$;
ALTER FUNCTION msteams.upsert_integration(uuid, text, boolean, text, text, text, text, text, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.upsert_integration(uuid, text, boolean, text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.upsert_integration(uuid, text, boolean, text, text, text, text, text, text) TO msteams_app;
COMMENT ON FUNCTION msteams.upsert_integration(uuid, text, boolean, text, text, text, text, text, text) IS
'Create or replace the tenant''s Teams settings: install status, add-on entitlement, Entra tenant, Graph client id, bot app id, Teams app id and credential references (env:NAME, file:/path, cert:/key.pem#thumbprint), never secrets. Errors: 22004/22023 naming the field (a bad credential reference is not echoed).';
