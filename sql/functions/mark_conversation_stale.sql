-- mark_conversation_stale: the bot can no longer post to a conversation (removed, uninstalled,
-- blocked): mark its references stale so enqueue stops resolving them. The next inbound activity
-- revives them (upsert_conversation_reference).
CREATE OR REPLACE FUNCTION msteams.mark_conversation_stale(
    p_tenant            uuid,
    p_conversation_id   text,
    p_reason            text DEFAULT 'bot_removed',
    p_microsoft_user_id text DEFAULT NULL
)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_tenant('mark_conversation_stale', p_tenant);
    IF p_conversation_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'mark_conversation_stale: conversation_id must not be null', COLUMN = 'conversation_id',
            HINT = 'Pass the conversation id (activity.conversation.id) the bot can no longer post to.';
    END IF;
    IF btrim(p_conversation_id) = '' OR char_length(p_conversation_id) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'mark_conversation_stale: conversation_id must be 1 to 1024 characters', COLUMN = 'conversation_id',
            HINT = 'Pass the conversation id (activity.conversation.id) the bot can no longer post to.';
    END IF;
    IF p_reason IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'mark_conversation_stale: reason must not be null', COLUMN = 'reason',
            HINT = 'Pass a snake_case reason such as bot_removed, app_uninstalled or conversation_blocked.';
    END IF;
    IF p_reason !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'mark_conversation_stale: reason is not a snake_case word', COLUMN = 'reason',
            HINT = 'Pass a snake_case reason such as bot_removed, app_uninstalled or conversation_blocked.';
    END IF;
    IF p_microsoft_user_id IS NOT NULL AND btrim(p_microsoft_user_id) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'mark_conversation_stale: microsoft_user_id must not be blank', COLUMN = 'microsoft_user_id',
            HINT = 'Pass the user''s Entra object id, or NULL for every reference of the conversation.';
    END IF;

    RETURN msteams._mark_conversation_stale(p_tenant, p_conversation_id, p_reason, p_microsoft_user_id, now());
END
$fn$;
ALTER FUNCTION msteams.mark_conversation_stale(uuid, text, text, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.mark_conversation_stale(uuid, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.mark_conversation_stale(uuid, text, text, text) TO msteams_app;
COMMENT ON FUNCTION msteams.mark_conversation_stale(uuid, text, text, text) IS
'Mark the active conversation references of p_conversation_id stale (stale_at = now(), stale_reason = p_reason, a snake_case word; default bot_removed): every user''s when p_microsoft_user_id is NULL, else that user''s only. Returns how many references changed (0 when none was active; references already stale keep their first stale_at). The next inbound activity revives them. Raises 22004/22023 naming the field, 42501 when msteams.tenant is another tenant.';
