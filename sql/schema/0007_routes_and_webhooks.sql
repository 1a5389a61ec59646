-- 0007 routes and webhooks: named destinations of a tenant.

-- A route (security, sre, compliance, …) fans one enqueue out to several destinations (DESIGN §11).
CREATE TABLE msteams.routes (
    tenant           uuid        NOT NULL,
    route            text        NOT NULL,
    destination_type text        NOT NULL,
    destination_id   text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT routes_pkey PRIMARY KEY (tenant, route, destination_type, destination_id),
    CONSTRAINT routes_route_check CHECK (route ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    CONSTRAINT routes_destination_type_check
        CHECK (destination_type IN ('user_activity', 'chat', 'channel', 'webhook'))
);
COMMENT ON TABLE msteams.routes IS
'Named stakeholder routes of a tenant: each row is one destination an enqueue to the route fans out to.';
SELECT msteams._secure_tenant_table('msteams.routes');

-- A Teams Workflows webhook URL carries its own signature (sig=…): it is a secret. It is stored
-- once here under a name; deliveries, the ledger and every read refer to the name only, and only
-- the runner (through claim_deliveries) ever reads the URL.
CREATE TABLE msteams.webhooks (
    tenant       uuid        NOT NULL,
    webhook_name text        NOT NULL,
    url          text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_pkey PRIMARY KEY (tenant, webhook_name),
    CONSTRAINT webhooks_webhook_name_check CHECK (webhook_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    CONSTRAINT webhooks_url_check CHECK (url ~ '^https://[^/?#@\s]+/\S*$' AND length(url) <= 2048)
);
COMMENT ON TABLE msteams.webhooks IS
'Named Teams Workflows webhook URLs of a tenant. The URL is a secret: readers may select every column but url.';
SELECT msteams._secure_tenant_table('msteams.webhooks',
                                    ARRAY['tenant', 'webhook_name', 'created_at', 'updated_at']);
