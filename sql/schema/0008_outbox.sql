-- 0008 outbox: deliveries still to be attempted. Small and hot: a row leaves when its delivery is
-- final (its payload with it, unless the delivery failed: see dead_letter_payloads).

-- One id space for every delivery, queued or skipped at enqueue.
CREATE SEQUENCE msteams.delivery_id_seq AS bigint;
COMMENT ON SEQUENCE msteams.delivery_id_seq IS 'Delivery ids, shared by the outbox, the ledger and the dead letters.';

CREATE TABLE msteams.outbox (
    tenant                   uuid        NOT NULL,
    delivery_id              bigint      NOT NULL DEFAULT nextval('msteams.delivery_id_seq'),
    -- claim order: priority first (critical = 0 … info = 4), then due time
    priority_rank            smallint    GENERATED ALWAYS AS (
                                 CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                                               WHEN 'low' THEN 3 ELSE 4 END) STORED,
    available_at             timestamptz NOT NULL DEFAULT now(),  -- due time; while leased, the lease expiry
    attempt_count            smallint    NOT NULL DEFAULT 0,      -- attempts started (claims not released)
    max_attempts             smallint    NOT NULL,
    locked_by                text,                                -- the runner holding the lease
    lease_id                 uuid,                                -- new on every claim; guards late reports
    priority                 text        NOT NULL,
    category                 text        NOT NULL,
    destination_type         text        NOT NULL,
    destination_id           text        NOT NULL,
    transport                text        NOT NULL,                -- graph | bot | webhook
    conversation_id          text,                                -- bot: the conversation resolved at enqueue
    internal_notification_id text        NOT NULL,
    enqueue_key              text        NOT NULL,
    event_type               text,
    correlation_id           text,
    expires_at               timestamptz,
    last_error_code          text,
    payload                  jsonb       NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_pkey PRIMARY KEY (tenant, delivery_id),
    CONSTRAINT outbox_priority_check CHECK (priority IN ('critical', 'high', 'medium', 'low', 'info')),
    CONSTRAINT outbox_destination_type_check
        CHECK (destination_type IN ('user_activity', 'chat', 'channel', 'webhook')),
    CONSTRAINT outbox_transport_check CHECK (transport IN ('graph', 'bot', 'webhook')),
    CONSTRAINT outbox_bot_conversation_check CHECK ((transport = 'bot') = (conversation_id IS NOT NULL)),
    CONSTRAINT outbox_attempt_count_check CHECK (attempt_count >= 0),
    CONSTRAINT outbox_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT outbox_lease_check CHECK ((locked_by IS NULL) = (lease_id IS NULL)),
    CONSTRAINT outbox_category_fkey FOREIGN KEY (category) REFERENCES msteams.categories (category)
);
-- The claim walks one priority at a time in due order: (priority_rank, available_at) serves it
-- as five short range scans, whatever the number of rows scheduled for later.
CREATE INDEX outbox_claim_idx ON msteams.outbox (priority_rank, available_at);
CREATE INDEX outbox_notification_idx ON msteams.outbox (tenant, internal_notification_id);
COMMENT ON TABLE msteams.outbox IS
'Deliveries still to be attempted (queued, leased to a runner, or scheduled for a retry). Rows leave when the delivery is final.';
SELECT msteams._secure_tenant_table('msteams.outbox',
    ARRAY['tenant', 'delivery_id', 'priority_rank', 'available_at', 'attempt_count', 'max_attempts',
          'locked_by', 'priority', 'category', 'destination_type', 'destination_id', 'transport',
          'internal_notification_id', 'event_type', 'correlation_id', 'expires_at',
          'last_error_code', 'created_at']);
