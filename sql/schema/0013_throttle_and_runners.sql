-- 0013 throttle pauses and runner heartbeats: the state that makes Microsoft's rate limits hold
-- for all runners together and across restarts (docs/architecture.md, "Throttling").

-- Which error codes mean "Microsoft throttled this scope": a Retry-After then pauses the scope for
-- every runner. Data, like `retryable`.
ALTER TABLE msteams.error_codes ADD COLUMN pauses_scope boolean NOT NULL DEFAULT false;
UPDATE msteams.error_codes SET pauses_scope = true
 WHERE error_code IN ('graph_throttled', 'bot_throttled', 'webhook_throttled');
COMMENT ON COLUMN msteams.error_codes.pauses_scope IS
'A Retry-After with this code pauses the whole scope (the tenant''s Graph app, the bot conversation, the webhook) for every runner until it has passed.';

-- Written only when Microsoft answers 429: small, and never on the claim path.
CREATE TABLE msteams.throttle_pauses (
    tenant       uuid        NOT NULL,
    scope        text        NOT NULL,   -- graph | bot:<conversation id> | webhook:<webhook name>
    paused_until timestamptz NOT NULL,
    error_code   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT throttle_pauses_pkey PRIMARY KEY (tenant, scope),
    CONSTRAINT throttle_pauses_scope_check CHECK (scope ~ '^(graph|bot:.+|webhook:.+)$' AND length(scope) <= 600),
    CONSTRAINT throttle_pauses_error_code_fkey FOREIGN KEY (error_code) REFERENCES msteams.error_codes (error_code)
);
COMMENT ON TABLE msteams.throttle_pauses IS
'Scopes Microsoft throttled with a Retry-After: until paused_until no runner sends in that scope (due deliveries were moved past it; new ones are queued after it).';
SELECT msteams._secure_tenant_table('msteams.throttle_pauses');

-- Live runners, so that each can take its share of every tenant's rate budget.
CREATE TABLE msteams.runners (
    worker_id    text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT runners_pkey PRIMARY KEY (worker_id),
    CONSTRAINT runners_worker_id_check CHECK (length(worker_id) BETWEEN 1 AND 200)
);
COMMENT ON TABLE msteams.runners IS
'Runner heartbeats (runner_heartbeat()): runners seen in the last 30 seconds divide Microsoft''s rate limits between them.';
GRANT SELECT ON msteams.runners TO msteams_reader;
