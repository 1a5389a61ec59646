-- mark_delivered: the host (or its bot) confirms a sent delivery reached the recipient.
CREATE OR REPLACE FUNCTION msteams.mark_delivered(
    p_tenant uuid, p_delivery_id bigint, p_delivered_at timestamptz DEFAULT now())
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_row record;
BEGIN
    PERFORM msteams._assert_tenant('mark_delivered', p_tenant);
    IF p_delivery_id IS NULL OR p_delivered_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('mark_delivered: %s must not be null', CASE WHEN p_delivery_id IS NULL THEN 'delivery_id' ELSE 'delivered_at' END),
            COLUMN = CASE WHEN p_delivery_id IS NULL THEN 'delivery_id' ELSE 'delivered_at' END,
            HINT = 'Pass the delivery id enqueue returned.';
    END IF;
    SELECT d.created_at, d.ledger_id, d.status INTO v_row
      FROM msteams.notification_deliveries AS d
     WHERE d.tenant = p_tenant AND d.delivery_id = p_delivery_id AND d.status IN ('sent', 'delivered')
     ORDER BY d.created_at DESC, d.ledger_id DESC LIMIT 1
       FOR UPDATE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM msteams.notification_deliveries AS d WHERE d.tenant = p_tenant AND d.delivery_id = p_delivery_id)
           OR EXISTS (SELECT 1 FROM msteams.outbox AS o WHERE o.tenant = p_tenant AND o.delivery_id = p_delivery_id) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('mark_delivered: delivery %s has not been sent', p_delivery_id), COLUMN = 'delivery_id',
                HINT = 'Only a sent delivery can be marked delivered; see msteams.get_delivery for where it stands.';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('mark_delivered: delivery %s does not exist for this tenant', p_delivery_id),
            COLUMN = 'delivery_id', HINT = 'Pass a delivery id returned by enqueue for this tenant.';
    END IF;
    IF v_row.status = 'delivered' THEN
        RETURN false;                              -- already marked: a repeat changes nothing
    END IF;
    UPDATE msteams.notification_deliveries AS d
       SET status = 'delivered', delivered_at = p_delivered_at
     WHERE d.tenant = p_tenant AND d.created_at = v_row.created_at AND d.ledger_id = v_row.ledger_id;
    RETURN true;
END
$fn$;
ALTER FUNCTION msteams.mark_delivered(uuid, bigint, timestamptz) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.mark_delivered(uuid, bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.mark_delivered(uuid, bigint, timestamptz) TO msteams_app;
COMMENT ON FUNCTION msteams.mark_delivered(uuid, bigint, timestamptz) IS
'Mark the sent ledger row of a delivery delivered (status and delivered_at). Returns false when it already was. Errors: P0002 unknown delivery, 55000 not sent yet.';
