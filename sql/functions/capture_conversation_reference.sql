-- capture_conversation_reference: store the bot ConversationReference from the raw inbound activity
-- JSON through upsert_conversation_reference; a bot removal or uninstall becomes a stale mark instead
-- (as mark_conversation_stale does).
CREATE OR REPLACE FUNCTION msteams.capture_conversation_reference(p_tenant uuid, p_activity jsonb)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_type            text;
    v_action          text;
    v_conversation_id text;
    v_recipient_id    text;
    v_activity_at     timestamptz;
    v_removed         boolean;
BEGIN
    PERFORM msteams._assert_tenant('capture_conversation_reference', p_tenant);
    IF p_activity IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'capture_conversation_reference: activity must not be null', COLUMN = 'activity',
            HINT = 'Pass the inbound Bot Framework activity as received (JSON object).';
    END IF;
    IF jsonb_typeof(p_activity) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('capture_conversation_reference: activity is a JSON %s, not an object', jsonb_typeof(p_activity)),
            COLUMN = 'activity', HINT = 'Pass the inbound Bot Framework activity as received (JSON object).';
    END IF;

    v_type            := p_activity ->> 'type';
    v_action          := p_activity ->> 'action';
    v_conversation_id := p_activity -> 'conversation' ->> 'id';
    v_recipient_id    := p_activity -> 'recipient' ->> 'id';
    IF v_conversation_id IS NULL OR btrim(v_conversation_id) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'capture_conversation_reference: activity.conversation.id is missing', COLUMN = 'activity',
            HINT = 'Pass the inbound Bot Framework activity as received: it carries conversation.id.';
    END IF;

    IF p_activity ? 'timestamp' AND jsonb_typeof(p_activity -> 'timestamp') <> 'null' THEN
        BEGIN
            v_activity_at := (p_activity ->> 'timestamp')::timestamptz;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = 'capture_conversation_reference: activity.timestamp is not a timestamp', COLUMN = 'activity',
                HINT = 'Pass the activity as received: timestamp is ISO 8601 UTC, e.g. 2025-01-31T12:00:00.123Z.';
        END;
    END IF;

    -- The bot removed from the conversation, or the app uninstalled: the reference goes stale.
    v_removed := (v_type = 'conversationUpdate'
                  AND v_recipient_id IS NOT NULL
                  AND jsonb_typeof(p_activity -> 'membersRemoved') = 'array'
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_activity -> 'membersRemoved') AS m(member)
                               WHERE m.member ->> 'id' = v_recipient_id))
              OR (v_type = 'installationUpdate' AND v_action IN ('remove', 'remove-upgrade'));
    IF v_removed THEN
        -- Stale as of the removal activity's own timestamp (the clock re-install activities carry);
        -- a reference with a newer activity than the removal is left alone (handled out of order).
        PERFORM msteams._mark_conversation_stale(
            p_tenant, v_conversation_id,
            CASE WHEN v_type = 'installationUpdate' THEN 'app_uninstalled' ELSE 'bot_removed' END,
            NULL, coalesce(v_activity_at, now()), v_activity_at);
        RETURN 'stale';
    END IF;

    RETURN msteams.upsert_conversation_reference(
        p_tenant            => p_tenant,
        p_microsoft_user_id => coalesce(nullif(p_activity -> 'from' ->> 'aadObjectId', ''), p_activity -> 'from' ->> 'id'),
        p_conversation_id   => v_conversation_id,
        p_service_url       => p_activity ->> 'serviceUrl',
        p_conversation_type => p_activity -> 'conversation' ->> 'conversationType',
        p_aad_tenant_id     => coalesce(p_activity -> 'conversation' ->> 'tenantId',
                                        p_activity -> 'channelData' -> 'tenant' ->> 'id'),
        p_bot_id            => v_recipient_id,
        p_user_teams_id     => p_activity -> 'from' ->> 'id',
        p_locale            => p_activity ->> 'locale',
        p_activity_id       => p_activity ->> 'id',
        p_channel_id        => coalesce(p_activity ->> 'channelId', 'msteams'),
        p_activity_at       => coalesce(v_activity_at, now()));
END
$fn$;
ALTER FUNCTION msteams.capture_conversation_reference(uuid, jsonb) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.capture_conversation_reference(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.capture_conversation_reference(uuid, jsonb) TO msteams_app;
COMMENT ON FUNCTION msteams.capture_conversation_reference(uuid, jsonb) IS
'Capture the conversation reference from a raw inbound Bot Framework activity (serviceUrl, conversation.id/conversationType/tenantId or channelData.tenant.id, from.aadObjectId else from.id, from.id, recipient.id, locale, id, channelId, timestamp) through upsert_conversation_reference, and return its answer. A bot removal (conversationUpdate whose membersRemoved holds recipient.id) or an uninstall (installationUpdate with action remove or remove-upgrade) marks every reference of the conversation stale instead (stale_at = the activity timestamp; a reference with a newer activity is left alone) and returns stale; installationUpdate add revives. Raises 22004/22023 (naming activity, or the field upsert_conversation_reference refuses), 42501 when msteams.tenant is another tenant.';
