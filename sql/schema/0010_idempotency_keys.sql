-- 0010 idempotency_keys: the side table that makes repeats no-ops. A unique key on the
-- partitioned ledger would have to include created_at, so uniqueness lives here, keyed
-- (tenant, scope, idempotency_key), and is pruned with the same retention as what it guards.
CREATE TABLE msteams.idempotency_keys (
    tenant          uuid        NOT NULL,
    scope           text        NOT NULL,   -- enqueue: a delivery; delivery: a host-recorded outcome; audit: an audit event
    idempotency_key text        NOT NULL,
    ref_id          bigint      NOT NULL,   -- delivery_id or audit_id
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant, scope, idempotency_key),
    CONSTRAINT idempotency_keys_scope_check CHECK (scope IN ('enqueue', 'delivery', 'audit')),
    CONSTRAINT idempotency_keys_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255)
);
CREATE INDEX idempotency_keys_created_idx ON msteams.idempotency_keys USING brin (created_at);
COMMENT ON TABLE msteams.idempotency_keys IS
'Idempotency keys of enqueues, host-recorded outcomes and audit events; a repeat call finds its key here and returns the first id.';
SELECT msteams._secure_tenant_table('msteams.idempotency_keys');
