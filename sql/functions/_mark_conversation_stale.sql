-- The one UPDATE behind mark_conversation_stale and capture_conversation_reference. p_stale_at is
-- when the bot lost the conversation: now() for an explicit mark, the removal activity's timestamp
-- for a captured removal, so a re-install activity is compared with the removal on the same
-- (Microsoft's) clock. With p_removal_at, a reference whose last activity is newer than the removal
-- is left alone: the removal was handled after a later activity (out of order).
CREATE OR REPLACE FUNCTION msteams._mark_conversation_stale(
    p_tenant            uuid,
    p_conversation_id   text,
    p_reason            text,
    p_microsoft_user_id text,
    p_stale_at          timestamptz,
    p_removal_at        timestamptz DEFAULT NULL
)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_marked integer;
BEGIN
    UPDATE msteams.conversation_references AS r
       SET status = 'stale', stale_reason = p_reason, stale_at = p_stale_at
     WHERE r.tenant = p_tenant
       AND r.conversation_id = p_conversation_id
       AND (p_microsoft_user_id IS NULL OR r.microsoft_user_id = p_microsoft_user_id)
       AND r.status = 'active'
       AND (p_removal_at IS NULL OR r.last_activity_at <= p_removal_at);
    GET DIAGNOSTICS v_marked = ROW_COUNT;
    RETURN v_marked;
END
$fn$;
ALTER FUNCTION msteams._mark_conversation_stale(uuid, text, text, text, timestamptz, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams._mark_conversation_stale(uuid, text, text, text, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION msteams._mark_conversation_stale(uuid, text, text, text, timestamptz, timestamptz) IS
'Internal (no grant; called by the definer functions mark_conversation_stale and capture_conversation_reference): mark the active references of a conversation (or of one user in it) stale at p_stale_at; with p_removal_at, skip references whose last activity is newer than the removal. Returns how many changed.';
