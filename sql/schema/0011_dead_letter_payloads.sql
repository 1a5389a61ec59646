-- 0011 dead_letter_payloads: a delivery whose final outcome is not a success (failed after its
-- last attempt, or skipped) keeps its payload here, so that a `retry` response or retry_failed()
-- can queue it again and a `discard` can close it. Successful deliveries keep no payload anywhere.
-- Rows go on retry, discard, retention (with the ledger) and purge.
CREATE TABLE msteams.dead_letter_payloads (
    tenant                   uuid        NOT NULL,
    delivery_id              bigint      NOT NULL,
    final_status             text        NOT NULL,
    error_code               text        NOT NULL,
    attempt_count            smallint    NOT NULL,
    priority                 text        NOT NULL,
    category                 text        NOT NULL,
    destination_type         text        NOT NULL,
    destination_id           text        NOT NULL,
    internal_notification_id text        NOT NULL,
    enqueue_key              text        NOT NULL,
    event_type               text,
    correlation_id           text,
    payload                  jsonb       NOT NULL,
    enqueued_at              timestamptz NOT NULL,
    closed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dead_letter_payloads_pkey PRIMARY KEY (tenant, delivery_id),
    CONSTRAINT dead_letter_payloads_final_status_check CHECK (final_status IN ('failed', 'skipped')),
    CONSTRAINT dead_letter_payloads_error_code_fkey
        FOREIGN KEY (error_code) REFERENCES msteams.error_codes (error_code)
);
CREATE INDEX dead_letter_payloads_notification_idx
    ON msteams.dead_letter_payloads (tenant, internal_notification_id);
CREATE INDEX dead_letter_payloads_closed_idx ON msteams.dead_letter_payloads (closed_at);
COMMENT ON TABLE msteams.dead_letter_payloads IS
'Payloads of deliveries that ended failed or skipped, kept for retry or discard until retention. Readers see every column but the payload.';
SELECT msteams._secure_tenant_table('msteams.dead_letter_payloads',
    ARRAY['tenant', 'delivery_id', 'final_status', 'error_code', 'attempt_count', 'priority', 'category',
          'destination_type', 'destination_id', 'internal_notification_id', 'event_type',
          'correlation_id', 'enqueued_at', 'closed_at']);
