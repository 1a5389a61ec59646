-- 0009 notification_deliveries: the delivery ledger, one row per attempt outcome
-- (skipped, sent, delivered, failed). Monthly partitions by created_at, made ahead by
-- ensure_partitions(); retention drops whole partitions.
CREATE SEQUENCE msteams.notification_deliveries_ledger_id_seq AS bigint;
COMMENT ON SEQUENCE msteams.notification_deliveries_ledger_id_seq IS 'Ledger row ids.';

CREATE TABLE msteams.notification_deliveries (
    tenant                   uuid        NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    ledger_id                bigint      NOT NULL DEFAULT nextval('msteams.notification_deliveries_ledger_id_seq'),
    delivery_id              bigint      NOT NULL,
    attempt_number           smallint    NOT NULL,
    status                   text        NOT NULL,
    final                    boolean     NOT NULL,  -- the delivery's last outcome (no retry follows)
    internal_notification_id text        NOT NULL,
    category                 text        NOT NULL,
    priority                 text        NOT NULL,
    destination_type         text        NOT NULL,
    destination_id           text        NOT NULL,
    idempotency_key          text        NOT NULL,  -- ledger key: sha256(internal_notification_id|tenant|destination_type|destination_id|attempt_number)
    event_type               text,
    correlation_id           text,
    status_code              smallint,              -- the provider's HTTP status
    error_code               text,
    error_message            text,
    retryable                boolean,
    provider_message_id      text,                  -- Bot Framework activity id
    provider_request_id      text,                  -- Graph request-id / X-Correlating-OperationId
    retry_at                 timestamptz,           -- failed, not final: when the next attempt is due
    worker                   text,
    latency_ms               integer,               -- the attempt's send time
    enqueued_at              timestamptz NOT NULL,
    sent_at                  timestamptz,
    delivered_at             timestamptz,
    responded_at             timestamptz,
    response_action          text,
    responded_by             text,
    CONSTRAINT notification_deliveries_pkey PRIMARY KEY (tenant, created_at, ledger_id),
    CONSTRAINT notification_deliveries_status_check
        CHECK (status IN ('skipped', 'sent', 'delivered', 'failed')),
    CONSTRAINT notification_deliveries_priority_check
        CHECK (priority IN ('critical', 'high', 'medium', 'low', 'info')),
    CONSTRAINT notification_deliveries_destination_type_check
        CHECK (destination_type IN ('user_activity', 'chat', 'channel', 'webhook')),
    CONSTRAINT notification_deliveries_status_code_check CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT notification_deliveries_attempt_number_check CHECK (attempt_number >= 1),
    CONSTRAINT notification_deliveries_error_message_check CHECK (char_length(error_message) <= 1024),
    CONSTRAINT notification_deliveries_error_code_check
        CHECK ((status IN ('failed', 'skipped')) = (error_code IS NOT NULL)),
    CONSTRAINT notification_deliveries_final_check
        CHECK (final OR (status = 'failed' AND retry_at IS NOT NULL)),
    CONSTRAINT notification_deliveries_response_action_check
        CHECK (response_action IN ('acknowledge', 'escalate', 'retry', 'discard')),
    CONSTRAINT notification_deliveries_category_fkey
        FOREIGN KEY (category) REFERENCES msteams.categories (category),
    CONSTRAINT notification_deliveries_error_code_fkey
        FOREIGN KEY (error_code) REFERENCES msteams.error_codes (error_code)
) PARTITION BY RANGE (created_at);
CREATE INDEX notification_deliveries_delivery_idx
    ON msteams.notification_deliveries (tenant, delivery_id);
CREATE INDEX notification_deliveries_notification_idx
    ON msteams.notification_deliveries (tenant, internal_notification_id);
COMMENT ON TABLE msteams.notification_deliveries IS
'The delivery ledger: one row per attempt outcome (skipped, sent, delivered, failed), partitioned by month of created_at. Answers "did this notification go out?".';
SELECT msteams._secure_tenant_table('msteams.notification_deliveries');

-- Rows outside every monthly partition land here instead of failing the write. It should stay
-- empty: ensure_partitions() moves rows out of it, and monitoring alerts on any row in it.
CREATE TABLE msteams.notification_deliveries_default
    PARTITION OF msteams.notification_deliveries DEFAULT;
COMMENT ON TABLE msteams.notification_deliveries_default IS
'Default partition of notification_deliveries: should stay empty (alert on rows; ensure_partitions moves them out).';
SELECT msteams._secure_tenant_table('msteams.notification_deliveries_default');
