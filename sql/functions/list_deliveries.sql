-- list_deliveries: the delivery ledger of one tenant, newest first, one page at a time.
-- SECURITY INVOKER: row-level security applies exactly as to a direct SELECT by the caller.
-- Keyset pagination on (created_at, ledger_id), the tail of the ledger's primary key
-- (tenant, created_at, ledger_id): every page is one short backward index range scan, so page
-- 1,000 costs what page 1 does.
CREATE OR REPLACE FUNCTION msteams.list_deliveries(
    p_tenant   uuid,
    p_status   text        DEFAULT NULL,
    p_category text        DEFAULT NULL,
    p_since    timestamptz DEFAULT NULL,
    p_limit    integer     DEFAULT 50,
    p_cursor   text        DEFAULT NULL
)
    RETURNS TABLE (ledger_id bigint, delivery_id bigint, created_at timestamptz, status text, final boolean,
                   attempt_number smallint, internal_notification_id text, category text, priority text,
                   destination_type text, destination_id text, event_type text, correlation_id text,
                   status_code smallint, error_code text, error_message text, retryable boolean,
                   provider_message_id text, provider_request_id text, retry_at timestamptz,
                   enqueued_at timestamptz, sent_at timestamptz, delivered_at timestamptz,
                   responded_at timestamptz, response_action text, next_cursor text)
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
    PERFORM msteams._assert_read_tenant('list_deliveries', p_tenant);
    v_limit := msteams._keyset_limit('list_deliveries', p_limit);
    IF p_status IS NOT NULL AND p_status NOT IN ('skipped', 'sent', 'delivered', 'failed') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('list_deliveries: status %L is not known', left(p_status, 100)), COLUMN = 'status',
            HINT = 'Use one of: skipped, sent, delivered, failed; or NULL for every status.';
    END IF;
    IF p_category IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM msteams.categories AS c WHERE c.category = p_category) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('list_deliveries: category %L is not known', left(p_category, 100)), COLUMN = 'category',
            HINT = 'Use a category from msteams.categories, or NULL for every category.';
    END IF;
    -- The cursor is bound to the tenant and filters (not to the limit, which may change per page).
    v_filters := jsonb_build_array(p_tenant, p_status, p_category, extract(epoch FROM p_since))::text;
    SELECT c.after_created_at, c.after_id INTO v_after_ts, v_after_id
      FROM msteams._keyset_cursor_decode('list_deliveries', 'deliveries', v_filters, p_cursor) AS c;

    RETURN QUERY
    WITH page AS (
        SELECT d.ledger_id, d.delivery_id, d.created_at, d.status, d.final, d.attempt_number,
               d.internal_notification_id, d.category, d.priority, d.destination_type, d.destination_id,
               d.event_type, d.correlation_id, d.status_code, d.error_code, d.error_message, d.retryable,
               d.provider_message_id, d.provider_request_id, d.retry_at, d.enqueued_at, d.sent_at,
               d.delivered_at, d.responded_at, d.response_action
          FROM msteams.notification_deliveries AS d
         WHERE d.tenant = p_tenant
           AND d.created_at >= coalesce(p_since, '-infinity')
           AND d.created_at <= v_after_ts                                 -- lets partitions be pruned
           AND (d.created_at, d.ledger_id) < (v_after_ts, v_after_id)    -- the keyset position
           AND (p_status IS NULL OR d.status = p_status)
           AND (p_category IS NULL OR d.category = p_category)
         ORDER BY d.created_at DESC, d.ledger_id DESC
         LIMIT v_limit + 1),                  -- one extra row says whether a next page exists
    numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY p.created_at DESC, p.ledger_id DESC) AS rn,
               count(*) OVER () AS page_rows
          FROM page AS p)
    SELECT n.ledger_id, n.delivery_id, n.created_at, n.status, n.final, n.attempt_number,
           n.internal_notification_id, n.category, n.priority, n.destination_type, n.destination_id,
           n.event_type, n.correlation_id, n.status_code, n.error_code, n.error_message, n.retryable,
           n.provider_message_id, n.provider_request_id, n.retry_at, n.enqueued_at, n.sent_at,
           n.delivered_at, n.responded_at, n.response_action,
           CASE WHEN n.page_rows > v_limit AND n.rn = v_limit
                THEN msteams._keyset_cursor_encode('deliveries', v_filters, n.created_at, n.ledger_id)
           END
      FROM numbered AS n
     WHERE n.rn <= v_limit
     ORDER BY n.rn;
END
$fn$;
ALTER FUNCTION msteams.list_deliveries(uuid, text, text, timestamptz, integer, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.list_deliveries(uuid, text, text, timestamptz, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.list_deliveries(uuid, text, text, timestamptz, integer, text) TO msteams_reader;
COMMENT ON FUNCTION msteams.list_deliveries(uuid, text, text, timestamptz, integer, text) IS
'One page of p_tenant''s delivery ledger (one row per attempt outcome), newest first on (created_at, ledger_id), optionally only one status (skipped|sent|delivered|failed), one registered category, and rows created at or after p_since. p_limit 1-200 (default 50). next_cursor is set on the last row of a page when more rows follow: pass it as p_cursor, with the same tenant and filters, for the next page. SECURITY INVOKER (row-level security applies). Callers outside msteams_admin read only the tenant in msteams.tenant. Raises 22004 (tenant, limit NULL), 22023 (limit, status, category, cursor), 42501 (another tenant, or msteams.tenant unset).';
