-- register_audit_action: add a host-specific action id to the audit registry (DESIGN §9), or
-- update the description of one that exists. An action id is never renamed or repurposed.
CREATE OR REPLACE FUNCTION msteams.register_audit_action(
    p_action_id      text,
    p_description    text,
    p_is_card_action boolean DEFAULT false
)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_existing msteams.audit_actions%ROWTYPE;
BEGIN
    IF p_action_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_audit_action: action_id must not be null', COLUMN = 'action_id',
            HINT = 'Pass a snake_case action id such as merge_tickets.';
    END IF;
    IF p_action_id !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'register_audit_action: action_id is not a valid identifier', COLUMN = 'action_id',
            HINT = 'Use 1 to 63 characters: a lowercase letter, then lowercase letters, digits or underscores.';
    END IF;
    IF p_description IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_audit_action: description must not be null', COLUMN = 'description',
            HINT = 'Describe the mutation in a few words, e.g. ''Merge two tickets''.';
    END IF;
    IF btrim(p_description) = '' OR char_length(p_description) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'register_audit_action: description must be 1 to 500 characters', COLUMN = 'description',
            HINT = 'Describe the mutation in a few words, e.g. ''Merge two tickets''.';
    END IF;
    IF p_is_card_action IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'register_audit_action: is_card_action must not be null', COLUMN = 'is_card_action',
            HINT = 'Pass true for an Adaptive Card action, false otherwise (the default).';
    END IF;

    INSERT INTO msteams.audit_actions AS a (action_id, description, is_card_action)
    VALUES (p_action_id, p_description, p_is_card_action)
    ON CONFLICT ON CONSTRAINT audit_actions_pkey DO NOTHING;
    IF FOUND THEN
        RETURN 'inserted';
    END IF;

    SELECT a.* INTO STRICT v_existing FROM msteams.audit_actions AS a
     WHERE a.action_id = p_action_id FOR UPDATE;
    IF v_existing.is_card_action <> p_is_card_action THEN
        RAISE NOTICE 'register_audit_action: % keeps is_card_action = % (an action is never repurposed)',
            p_action_id, v_existing.is_card_action;
    END IF;
    IF v_existing.description = p_description THEN
        RETURN 'unchanged';
    END IF;
    UPDATE msteams.audit_actions AS a SET description = p_description WHERE a.action_id = p_action_id;
    RETURN 'updated';
END
$fn$;
ALTER FUNCTION msteams.register_audit_action(text, text, boolean) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.register_audit_action(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.register_audit_action(text, text, boolean) TO msteams_admin;
COMMENT ON FUNCTION msteams.register_audit_action(text, text, boolean) IS
'Register an audit action id (snake_case, 1-63 characters) with its description; idempotent. Returns inserted, updated (description changed) or unchanged. An existing action keeps its id and is_card_action (a NOTICE says so when p_is_card_action differs). Raises 22004/22023 naming the field.';
