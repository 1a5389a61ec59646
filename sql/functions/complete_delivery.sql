-- complete_delivery: record the outcome of one attempt (complete_deliveries for a batch of one).
CREATE OR REPLACE FUNCTION msteams.complete_delivery(
    p_worker              text,
    p_tenant              uuid,
    p_delivery_id         bigint,
    p_lease_id            uuid,
    p_status              text,
    p_status_code         integer DEFAULT NULL,
    p_error_code          text    DEFAULT NULL,
    p_error_message       text    DEFAULT NULL,
    p_provider_message_id text    DEFAULT NULL,
    p_provider_request_id text    DEFAULT NULL,
    p_retry_after         interval DEFAULT NULL,
    p_latency_ms          integer DEFAULT NULL,
    OUT outcome           text,
    OUT retry_at          timestamptz)
    RETURNS record
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT c.outcome, c.retry_at
      FROM msteams.complete_deliveries(p_worker, jsonb_build_array(jsonb_build_object(
               'tenant', p_tenant, 'delivery_id', p_delivery_id, 'lease_id', p_lease_id,
               'status', p_status, 'status_code', p_status_code, 'error_code', p_error_code,
               'error_message', p_error_message, 'provider_message_id', p_provider_message_id,
               'provider_request_id', p_provider_request_id,
               'retry_after_seconds', extract(epoch FROM p_retry_after), 'latency_ms', p_latency_ms))) AS c
$fn$;
ALTER FUNCTION msteams.complete_delivery(text, uuid, bigint, uuid, text, integer, text, text, text, text, interval, integer) OWNER TO msteams_owner;
REVOKE ALL ON FUNCTION msteams.complete_delivery(text, uuid, bigint, uuid, text, integer, text, text, text, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION msteams.complete_delivery(text, uuid, bigint, uuid, text, integer, text, text, text, text, interval, integer) TO msteams_runner;
COMMENT ON FUNCTION msteams.complete_delivery(text, uuid, bigint, uuid, text, integer, text, text, text, text, interval, integer) IS
'Record the outcome of one attempt (see complete_deliveries): outcome final, retry_scheduled (with retry_at) or lease_lost (the lease is no longer held: nothing changed).';
