-- set_webhook: store a Teams Workflows webhook URL (a secret) under a name.
CREATE OR REPLACE FUNCTION msteams.set_webhook(p_tenant uuid, p_webhook_name text, p_url text)
    RETURNS void
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM msteams._assert_tenant('set_webhook', p_tenant);
    IF p_webhook_name IS NULL OR p_webhook_name !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN p_webhook_name IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
            MESSAGE = 'set_webhook: webhook_name is not a valid name', COLUMN = 'webhook_name',
            HINT = 'Use 1 to 63 letters, digits, _ . - (starting with a letter or digit).';
    END IF;
    -- The URL is never echoed: it carries the webhook's signature.
    IF p_url IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'set_webhook: url must not be null',
            COLUMN = 'url', HINT = 'Pass the URL of the Workflows trigger "When a Teams webhook request is received".';
    END IF;
    IF p_url !~ '^https://[^/?#@\s]+/\S*$' OR length(p_url) > 2048 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'set_webhook: url is not an https URL with a host and a path (value not shown: it is a secret)',
            COLUMN = 'url', HINT = 'Pass the full https:// URL Teams Workflows gave you, at most 2048 characters, without user:password@.';
    END IF;
    INSERT INTO msteams.webhooks AS w (tenant, webhook_name, url)
    VALUES (p_tenant, p_webhook_name, p_url)
    ON CONFLICT ON CONSTRAINT webhooks_pkey DO UPDATE SET url = EXCLUDED.url, updated_at = now();
END
$fn$;
ALTER FUNCTION msteams.set_webhook(uuid, text, text) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.set_webhook(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.set_webhook(uuid, text, text) TO msteams_app;
COMMENT ON FUNCTION msteams.set_webhook(uuid, text, text) IS
'Store (or replace) the tenant''s Workflows webhook URL under p_webhook_name; deliveries name the webhook, never the URL. The URL is a secret: no read function returns it and no error shows it.';
