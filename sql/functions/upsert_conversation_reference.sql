-- upsert_conversation_reference: store or refresh the bot ConversationReference of one user in one
-- conversation (DESIGN §2), from the host bot's handler of every inbound activity.
CREATE OR REPLACE FUNCTION msteams.upsert_conversation_reference(
    p_tenant            uuid,
    p_microsoft_user_id text,
    p_conversation_id   text,
    p_service_url       text,
    p_conversation_type text,
    p_aad_tenant_id     text        DEFAULT NULL,
    p_bot_id            text        DEFAULT NULL,
    p_user_teams_id     text        DEFAULT NULL,
    p_locale            text        DEFAULT NULL,
    p_activity_id       text        DEFAULT NULL,
    p_channel_id        text        DEFAULT 'msteams',
    p_activity_at       timestamptz DEFAULT now()
)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_field    record;
    v_existing msteams.conversation_references%ROWTYPE;
BEGIN
    PERFORM msteams._assert_tenant('upsert_conversation_reference', p_tenant);

    FOR v_field IN
        SELECT f.name, f.value, f.hint
          FROM (VALUES
                ('microsoft_user_id', p_microsoft_user_id, 'Pass activity.from.aadObjectId (else activity.from.id).'),
                ('conversation_id',   p_conversation_id,   'Pass activity.conversation.id.'),
                ('service_url',       p_service_url,       'Pass activity.serviceUrl.'),
                ('conversation_type', p_conversation_type, 'Use one of: personal, groupChat, channel.'),
                ('channel_id',        p_channel_id,        'Pass activity.channelId, or leave it out for msteams.'))
               AS f(name, value, hint)
    LOOP
        IF v_field.value IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
                MESSAGE = format('upsert_conversation_reference: %s must not be null', v_field.name),
                COLUMN = v_field.name, HINT = v_field.hint;
        END IF;
        IF btrim(v_field.value) = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('upsert_conversation_reference: %s must not be blank', v_field.name),
                COLUMN = v_field.name, HINT = v_field.hint;
        END IF;
    END LOOP;
    IF p_activity_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'upsert_conversation_reference: activity_at must not be null', COLUMN = 'activity_at',
            HINT = 'Pass activity.timestamp, or leave it out for now().';
    END IF;
    FOR v_field IN
        SELECT f.name, f.value, f.max_length
          FROM (VALUES ('microsoft_user_id', p_microsoft_user_id, 1024), ('conversation_id', p_conversation_id, 1024),
                       ('service_url', p_service_url, 1024), ('bot_id', p_bot_id, 1024),
                       ('user_teams_id', p_user_teams_id, 1024), ('activity_id', p_activity_id, 1024),
                       ('locale', p_locale, 100), ('channel_id', p_channel_id, 100)) AS f(name, value, max_length)
         WHERE char_length(f.value) > f.max_length
    LOOP
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('upsert_conversation_reference: %s is over the limit of %s characters',
                             v_field.name, v_field.max_length),
            COLUMN = v_field.name, HINT = format('Use a %s of at most %s characters.', v_field.name, v_field.max_length);
    END LOOP;
    -- https, a host (name, IPv4 or [IPv6]) and an optional port and path; no credentials, query or
    -- fragment. The URL itself is never echoed: a malformed one may carry credentials.
    IF p_service_url !~ '^https://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^?#[:space:]]*)?$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'upsert_conversation_reference: service_url is not an https URL with a host and no credentials, query or fragment',
            COLUMN = 'service_url',
            HINT = 'Pass activity.serviceUrl unchanged, e.g. https://smba.trafficmanager.net/amer/.';
    END IF;
    IF p_conversation_type NOT IN ('personal', 'groupChat', 'channel') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('upsert_conversation_reference: conversation_type %L is not known', left(p_conversation_type, 100)),
            COLUMN = 'conversation_type', HINT = 'Use one of: personal, groupChat, channel.';
    END IF;
    IF p_aad_tenant_id IS NOT NULL
       AND p_aad_tenant_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'upsert_conversation_reference: aad_tenant_id is not a GUID', COLUMN = 'aad_tenant_id',
            HINT = 'Pass activity.conversation.tenantId (a GUID), or leave it out.';
    END IF;

    INSERT INTO msteams.conversation_references AS r
        (tenant, microsoft_user_id, conversation_id, service_url, conversation_type, aad_tenant_id, bot_id,
         user_teams_id, channel_id, locale, activity_id, status, first_seen_at, last_activity_at)
    VALUES (p_tenant, p_microsoft_user_id, p_conversation_id, p_service_url, p_conversation_type,
            p_aad_tenant_id, p_bot_id, p_user_teams_id, p_channel_id, p_locale, p_activity_id, 'active',
            p_activity_at, p_activity_at)
    ON CONFLICT ON CONSTRAINT conversation_references_pkey DO NOTHING;
    IF FOUND THEN
        RETURN 'inserted';
    END IF;

    SELECT r.* INTO STRICT v_existing FROM msteams.conversation_references AS r
     WHERE r.tenant = p_tenant AND r.microsoft_user_id = p_microsoft_user_id
       AND r.conversation_id = p_conversation_id
       FOR UPDATE;
    -- Activities can be handled out of order: one older than the stored one changes nothing,
    -- and one older than a removal does not revive the reference.
    IF p_activity_at < v_existing.last_activity_at THEN
        RETURN 'unchanged';
    END IF;
    UPDATE msteams.conversation_references AS r
       SET service_url       = p_service_url,
           conversation_type = p_conversation_type,
           aad_tenant_id     = coalesce(p_aad_tenant_id, r.aad_tenant_id),
           bot_id            = coalesce(p_bot_id, r.bot_id),
           user_teams_id     = coalesce(p_user_teams_id, r.user_teams_id),
           channel_id        = p_channel_id,
           locale            = coalesce(p_locale, r.locale),
           activity_id       = coalesce(p_activity_id, r.activity_id),
           last_activity_at  = p_activity_at,
           status            = CASE WHEN r.status = 'stale' AND p_activity_at < r.stale_at THEN r.status ELSE 'active' END,
           stale_reason      = CASE WHEN r.status = 'stale' AND p_activity_at < r.stale_at THEN r.stale_reason END,
           stale_at          = CASE WHEN r.status = 'stale' AND p_activity_at < r.stale_at THEN r.stale_at END
     WHERE r.tenant = p_tenant AND r.microsoft_user_id = p_microsoft_user_id
       AND r.conversation_id = p_conversation_id;
    RETURN CASE WHEN v_existing.status = 'stale' AND p_activity_at >= v_existing.stale_at THEN 'revived'
                ELSE 'refreshed' END;
END
$fn$;
ALTER FUNCTION msteams.upsert_conversation_reference(uuid, text, text, text, text, text, text, text, text, text, text, timestamptz)
    OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.upsert_conversation_reference(uuid, text, text, text, text, text, text, text, text, text, text, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.upsert_conversation_reference(uuid, text, text, text, text, text, text, text, text, text, text, timestamptz)
    TO msteams_app;
COMMENT ON FUNCTION msteams.upsert_conversation_reference(uuid, text, text, text, text, text, text, text, text, text, text, timestamptz) IS
'Store the bot conversation reference of (p_tenant, p_microsoft_user_id, p_conversation_id), or refresh it from a later activity: service_url, conversation_type and channel_id are replaced, the other optional fields replaced when given, and a stale reference is revived (status active, stale_at/stale_reason cleared) unless the activity is older than the removal. Returns inserted, refreshed, revived, or unchanged (activity older than the stored one). service_url must be https with a host and no credentials, query or fragment (never echoed); conversation_type personal|groupChat|channel. Raises 22004/22023 naming the field, 42501 when msteams.tenant is another tenant.';
