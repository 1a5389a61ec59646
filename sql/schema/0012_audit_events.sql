-- 0012 audit_events: the append-only ledger of Teams-originated mutations. It stores the SHA-256
-- of the canonical JSON of each input (payload_hash), never the input. UPDATE, DELETE and
-- TRUNCATE are refused for everyone (trigger in sql/functions/audit_events_append_only.sql);
-- only cleanup_audit_events() (dropping whole partitions) and purge_tenant() remove rows.
CREATE SEQUENCE msteams.audit_events_audit_id_seq AS bigint;
COMMENT ON SEQUENCE msteams.audit_events_audit_id_seq IS 'Audit event ids.';

CREATE TABLE msteams.audit_events (
    tenant          uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    audit_id        bigint      NOT NULL DEFAULT nextval('msteams.audit_events_audit_id_seq'),
    surface         text        NOT NULL,
    action_id       text        NOT NULL,
    actor_user_id   text        NOT NULL,   -- the acting Teams user (Entra object id)
    target_type     text,                   -- e.g. ticket, time_entry, delivery
    target_id       text,
    result_status   text        NOT NULL,
    error_code      text,
    error_message   text,
    payload_hash    text        NOT NULL,   -- hex SHA-256 of msteams.canonical_json(input)
    delivery_id     bigint,                 -- card actions: the delivery acted on
    conversation_id text,
    activity_id     text,                   -- the inbound Teams activity
    correlation_id  text,
    CONSTRAINT audit_events_pkey PRIMARY KEY (tenant, created_at, audit_id),
    CONSTRAINT audit_events_surface_check
        CHECK (surface IN ('bot', 'message_extension', 'quick_action', 'tab')),
    CONSTRAINT audit_events_result_status_check CHECK (result_status IN ('success', 'failure')),
    CONSTRAINT audit_events_payload_hash_check CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT audit_events_error_message_check CHECK (char_length(error_message) <= 1024),
    CONSTRAINT audit_events_correlation_id_check CHECK (char_length(correlation_id) <= 255),
    CONSTRAINT audit_events_field_length_check
        CHECK (greatest(length(actor_user_id), length(target_type), length(target_id), length(error_code),
                        length(conversation_id), length(activity_id)) <= 1024),
    CONSTRAINT audit_events_action_id_fkey FOREIGN KEY (action_id) REFERENCES msteams.audit_actions (action_id)
) PARTITION BY RANGE (created_at);
CREATE INDEX audit_events_actor_idx ON msteams.audit_events (tenant, actor_user_id, created_at);
COMMENT ON TABLE msteams.audit_events IS
'Append-only audit ledger of Teams-originated mutations, partitioned by month; stores a hash of each input, never the input.';
SELECT msteams._secure_tenant_table('msteams.audit_events');

CREATE TABLE msteams.audit_events_default PARTITION OF msteams.audit_events DEFAULT;
COMMENT ON TABLE msteams.audit_events_default IS
'Default partition of audit_events: should stay empty (alert on rows; ensure_partitions moves them out).';
SELECT msteams._secure_tenant_table('msteams.audit_events_default');
