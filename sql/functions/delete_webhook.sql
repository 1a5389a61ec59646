-- delete_webhook: forget a tenant's webhook URL.
CREATE OR REPLACE FUNCTION msteams.delete_webhook(p_tenant uuid, p_webhook_name text)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_tenant('delete_webhook', p_tenant);
    IF p_webhook_name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'delete_webhook: webhook_name must not be null',
            COLUMN = 'webhook_name', HINT = 'Pass the name the webhook was registered under.';
    END IF;
    DELETE FROM msteams.webhooks AS w WHERE w.tenant = p_tenant AND w.webhook_name = p_webhook_name;
    RETURN FOUND;
END
$fn$;
ALTER FUNCTION msteams.delete_webhook(uuid, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.delete_webhook(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.delete_webhook(uuid, text) TO msteams_app;
COMMENT ON FUNCTION msteams.delete_webhook(uuid, text) IS
'Delete the tenant''s webhook p_webhook_name. Deliveries still queued for it are then skipped as package_misconfigured when claimed. Returns false when it did not exist.';
