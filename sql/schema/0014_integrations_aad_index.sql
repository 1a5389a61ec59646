-- 0014: inbound bot traffic names the organisation by its Entra tenant id; find its integration
-- without scanning (msteams.lookup_bot_tenants, on every inbound request to pgteams serve).
CREATE INDEX integrations_aad_tenant_idx ON msteams.integrations (aad_tenant_id);
