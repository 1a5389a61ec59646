-- 0006 conversation_references: a bot ConversationReference captured from every inbound activity.
CREATE TABLE msteams.conversation_references (
    tenant            uuid        NOT NULL,
    microsoft_user_id text        NOT NULL,  -- the user's Entra object id (activity.from.aadObjectId), else from.id
    conversation_id   text        NOT NULL,  -- a:… personal, 19:…@thread.v2 group chat, 19:…@thread.tacv2 channel
    service_url       text        NOT NULL,  -- where proactive messages for this conversation go
    conversation_type text        NOT NULL,
    aad_tenant_id     text,
    bot_id            text,                  -- activity.recipient.id (28:<bot app id>)
    user_teams_id     text,                  -- activity.from.id (29:…)
    channel_id        text        NOT NULL DEFAULT 'msteams',
    locale            text,
    activity_id       text,                  -- the last inbound activity
    status            text        NOT NULL DEFAULT 'active',
    stale_reason      text,
    stale_at          timestamptz,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    last_activity_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversation_references_pkey PRIMARY KEY (tenant, microsoft_user_id, conversation_id),
    CONSTRAINT conversation_references_conversation_type_check
        CHECK (conversation_type IN ('personal', 'groupChat', 'channel')),
    CONSTRAINT conversation_references_status_check CHECK (status IN ('active', 'stale')),
    CONSTRAINT conversation_references_stale_check CHECK ((status = 'stale') = (stale_at IS NOT NULL)),
    CONSTRAINT conversation_references_service_url_check CHECK (service_url ~ '^https://[^/?#@]+(/[^?#]*)?$'),
    CONSTRAINT conversation_references_field_length_check
        CHECK (greatest(length(microsoft_user_id), length(conversation_id), length(service_url),
                        length(bot_id), length(user_teams_id), length(activity_id)) <= 1024)
);
CREATE INDEX conversation_references_conversation_idx
    ON msteams.conversation_references (tenant, conversation_id);
COMMENT ON TABLE msteams.conversation_references IS
'Bot conversation references (serviceUrl and ids) captured from inbound activities; stale when the bot was removed or blocked, revived by the next inbound activity.';
SELECT msteams._secure_tenant_table('msteams.conversation_references');
