-- 0005 integrations: one row per tenant, the settings a delivery is sent with.
-- The credential is a reference resolved by the runner in memory, never the secret itself.
CREATE TABLE msteams.integrations (
    tenant             uuid        NOT NULL,
    install_status     text        NOT NULL DEFAULT 'inactive',
    addon_active       boolean     NOT NULL DEFAULT false,
    aad_tenant_id      text,       -- the organisation's Entra tenant (GUID)
    client_id          text,       -- its Entra app (client) id, for Graph
    credential_ref     text,       -- env:NAME | file:/path | cert:/path/to/key.pem#<thumbprint>
    bot_app_id         text,       -- its bot's app id (often the same app as client_id)
    bot_credential_ref text,       -- NULL: the bot uses credential_ref
    teams_app_id       text,       -- the Teams app (catalog) id for activity feed notifications
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integrations_pkey PRIMARY KEY (tenant),
    CONSTRAINT integrations_install_status_check
        CHECK (install_status IN ('active', 'inactive', 'suspended')),
    CONSTRAINT integrations_credential_ref_check
        CHECK (credential_ref IS NULL OR credential_ref ~ '^(env|file|cert):.+'),
    CONSTRAINT integrations_bot_credential_ref_check
        CHECK (bot_credential_ref IS NULL OR bot_credential_ref ~ '^(env|file|cert):.+'),
    CONSTRAINT integrations_aad_tenant_id_check
        CHECK (aad_tenant_id IS NULL OR aad_tenant_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    CONSTRAINT integrations_field_length_check
        CHECK (greatest(length(client_id), length(bot_app_id), length(teams_app_id),
                        length(credential_ref), length(bot_credential_ref)) <= 512)
);
COMMENT ON TABLE msteams.integrations IS
'Per-tenant Teams settings: install status, add-on entitlement, Entra tenant, app ids and a credential reference (never a secret).';
SELECT msteams._secure_tenant_table('msteams.integrations');
