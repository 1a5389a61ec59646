-- list_audit_events: the audit ledger of one tenant, newest first, one page at a time.
-- SECURITY INVOKER: row-level security applies exactly as to a direct SELECT by the caller.
-- Keyset pagination on (created_at, audit_id), the tail of the primary key
-- (tenant, created_at, audit_id); the same cursor format as list_deliveries (_keyset_cursor_encode.sql).
CREATE OR REPLACE FUNCTION msteams.list_audit_events(
    p_tenant        uuid,
    p_surface       text        DEFAULT NULL,
    p_action_id     text        DEFAULT NULL,
    p_actor_user_id text        DEFAULT NULL,
    p_result_status text        DEFAULT NULL,
    p_since         timestamptz DEFAULT NULL,
    p_limit         integer     DEFAULT 50,
    p_cursor        text        DEFAULT NULL
)
    RETURNS TABLE (tenant uuid, created_at timestamptz, audit_id bigint, surface text, action_id text,
                   actor_user_id text, target_type text, target_id text, result_status text,
                   error_code text, error_message text, payload_hash text, delivery_id bigint,
                   conversation_id text, activity_id text, correlation_id text, next_cursor text)
    LANGUAGE plpgsql
    STABLE
    SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_limit    integer;
    v_filters  text;
    v_after_ts timestamptz;
    v_after_id bigint;
BEGIN
    PERFORM msteams._assert_read_tenant('list_audit_events', p_tenant);
    v_limit := msteams._keyset_limit('list_audit_events', p_limit);
    IF p_surface IS NOT NULL AND p_surface NOT IN ('bot', 'message_extension', 'quick_action', 'tab') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('list_audit_events: surface %L is not known', left(p_surface, 100)), COLUMN = 'surface',
            HINT = 'Use one of: bot, message_extension, quick_action, tab; or NULL for every surface.';
    END IF;
    IF p_action_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM msteams.audit_actions AS a WHERE a.action_id = p_action_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('list_audit_events: action_id %L is not registered', left(p_action_id, 100)),
            COLUMN = 'action_id', HINT = 'Use an action id from msteams.audit_actions, or NULL for every action.';
    END IF;
    IF p_actor_user_id IS NOT NULL AND btrim(p_actor_user_id) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'list_audit_events: actor_user_id must not be blank', COLUMN = 'actor_user_id',
            HINT = 'Pass the acting user''s Entra object id, or NULL for every actor.';
    END IF;
    IF p_result_status IS NOT NULL AND p_result_status NOT IN ('success', 'failure') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('list_audit_events: result_status %L is not known', left(p_result_status, 100)),
            COLUMN = 'result_status', HINT = 'Use one of: success, failure; or NULL for both.';
    END IF;
    -- The cursor is bound to the tenant and filters (not to the limit, which may change per page).
    v_filters := jsonb_build_array(p_tenant, p_surface, p_action_id, p_actor_user_id, p_result_status,
                                   extract(epoch FROM p_since))::text;
    SELECT c.after_created_at, c.after_id INTO v_after_ts, v_after_id
      FROM msteams._keyset_cursor_decode('list_audit_events', 'audit_events', v_filters, p_cursor) AS c;

    RETURN QUERY
    WITH page AS (
        SELECT e.tenant, e.created_at, e.audit_id, e.surface, e.action_id, e.actor_user_id, e.target_type,
               e.target_id, e.result_status, e.error_code, e.error_message, e.payload_hash, e.delivery_id,
               e.conversation_id, e.activity_id, e.correlation_id
          FROM msteams.audit_events AS e
         WHERE e.tenant = p_tenant
           AND e.created_at >= coalesce(p_since, '-infinity')
           AND e.created_at <= v_after_ts                                 -- lets partitions be pruned
           AND (e.created_at, e.audit_id) < (v_after_ts, v_after_id)     -- the keyset position
           AND (p_surface IS NULL OR e.surface = p_surface)
           AND (p_action_id IS NULL OR e.action_id = p_action_id)
           AND (p_actor_user_id IS NULL OR e.actor_user_id = p_actor_user_id)
           AND (p_result_status IS NULL OR e.result_status = p_result_status)
         ORDER BY e.created_at DESC, e.audit_id DESC
         LIMIT v_limit + 1),                  -- one extra row says whether a next page exists
    numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY p.created_at DESC, p.audit_id DESC) AS rn,
               count(*) OVER () AS page_rows
          FROM page AS p)
    SELECT n.tenant, n.created_at, n.audit_id, n.surface, n.action_id, n.actor_user_id, n.target_type,
           n.target_id, n.result_status, n.error_code, n.error_message, n.payload_hash, n.delivery_id,
           n.conversation_id, n.activity_id, n.correlation_id,
           CASE WHEN n.page_rows > v_limit AND n.rn = v_limit
                THEN msteams._keyset_cursor_encode('audit_events', v_filters, n.created_at, n.audit_id)
           END
      FROM numbered AS n
     WHERE n.rn <= v_limit
     ORDER BY n.rn;
END
$fn$;
ALTER FUNCTION msteams.list_audit_events(uuid, text, text, text, text, timestamptz, integer, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.list_audit_events(uuid, text, text, text, text, timestamptz, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.list_audit_events(uuid, text, text, text, text, timestamptz, integer, text) TO msteams_reader;
COMMENT ON FUNCTION msteams.list_audit_events(uuid, text, text, text, text, timestamptz, integer, text) IS
'One page of p_tenant''s audit events, newest first on (created_at, audit_id), optionally only one surface (bot|message_extension|quick_action|tab), one registered action_id, one actor, one result_status (success|failure), and events at or after p_since. p_limit 1-200 (default 50). next_cursor is set on the last row of a page when more rows follow: pass it as p_cursor, with the same tenant and filters, for the next page. SECURITY INVOKER (row-level security applies). Callers outside msteams_admin read only the tenant in msteams.tenant. Raises 22004 (tenant, limit NULL), 22023 (limit, a filter, cursor), 42501 (another tenant, or msteams.tenant unset).';
