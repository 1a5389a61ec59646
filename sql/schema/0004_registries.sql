-- 0004 registries: the extensible vocabularies (DESIGN §3, §9). Shared by every tenant
-- (on Citus: reference tables). Rows are added by migration or by the register_* functions,
-- never repurposed.

CREATE TABLE msteams.categories (
    category      text        NOT NULL,
    description   text        NOT NULL,
    max_attempts  smallint    NOT NULL DEFAULT 6,
    default_ttl   interval,                 -- a delivery not sent within this is closed as `expired`
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_pkey PRIMARY KEY (category),
    CONSTRAINT categories_category_check CHECK (category ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT categories_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT categories_default_ttl_check CHECK (default_ttl IS NULL OR default_ttl > interval '0')
);
COMMENT ON TABLE msteams.categories IS
'Registry of notification categories (hosts may add). Carries the retry budget and the default expiry.';

INSERT INTO msteams.categories (category, description, max_attempts, default_ttl) VALUES
    ('assignment',       'A ticket or task was assigned to the recipient',          6, interval '7 days'),
    ('customer_reply',   'A customer replied on a ticket the recipient follows',    6, interval '7 days'),
    ('approval_request', 'The recipient is asked to approve something',             6, interval '7 days'),
    ('escalation',       'Something was escalated to the recipient',                8, interval '1 day'),
    ('sla_risk',         'A service-level deadline is at risk',                     8, interval '4 hours');

CREATE TABLE msteams.audit_actions (
    action_id      text        NOT NULL,
    description    text        NOT NULL,
    is_card_action boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_actions_pkey PRIMARY KEY (action_id),
    CONSTRAINT audit_actions_action_id_check CHECK (action_id ~ '^[a-z][a-z0-9_]{0,62}$')
);
COMMENT ON TABLE msteams.audit_actions IS
'Registry of Teams-originated mutations recorded in audit_events (hosts may add).';

INSERT INTO msteams.audit_actions (action_id, description, is_card_action) VALUES
    ('assign_ticket',              'Assign a ticket',                          false),
    ('add_note',                   'Add a note to a ticket',                   false),
    ('reply_to_contact',           'Reply to the ticket''s contact',           false),
    ('log_time',                   'Log time against a ticket',                false),
    ('approval_response',          'Approve or reject a request',              false),
    ('create_ticket_from_message', 'Create a ticket from a Teams message',     false),
    ('update_from_message',        'Update a ticket from a Teams message',     false),
    ('acknowledge',                'Card action: acknowledge a notification',  true),
    ('escalate',                   'Card action: escalate a notification',     true),
    ('retry',                      'Card action: send a failed notification again', true),
    ('discard',                    'Card action: close a failed notification', true);

CREATE TABLE msteams.error_codes (
    error_code            text        NOT NULL,
    retryable             boolean     NOT NULL,
    marks_reference_stale boolean     NOT NULL DEFAULT false,
    description           text        NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT error_codes_pkey PRIMARY KEY (error_code),
    CONSTRAINT error_codes_error_code_check CHECK (error_code ~ '^[a-z][a-z0-9_]{0,62}$')
);
COMMENT ON TABLE msteams.error_codes IS
'The closed error taxonomy. Whether a code is retried, and whether it makes a bot conversation reference stale, is data here, not code.';

INSERT INTO msteams.error_codes (error_code, retryable, marks_reference_stale, description) VALUES
    -- DESIGN §3
    ('graph_throttled',        true,  false, 'Graph answered 429 Too Many Requests'),
    ('graph_unauthorized',     false, false, 'Graph answered 401/403: token, consent or permission problem'),
    ('graph_not_found',        false, false, 'Graph answered 404: the user, chat or team does not exist'),
    ('graph_server_error',     true,  false, 'Graph answered 5xx'),
    ('user_not_mapped',        false, false, 'No Teams user or live conversation reference for the destination'),
    ('addon_inactive',         false, false, 'The tenant is not entitled to the Teams add-on'),
    ('integration_inactive',   false, false, 'The tenant''s Teams integration is missing, inactive or suspended'),
    ('package_misconfigured',  false, false, 'The tenant''s Teams settings are incomplete for this destination'),
    ('transient',              true,  false, 'Network error or timeout before an answer'),
    ('unknown',                false, false, 'An answer no other code describes'),
    -- Precise reasons Microsoft gives (TEAMS_FACTS §1-§3)
    ('graph_conflict',         false, false, 'Graph 409: several Teams apps share one Entra app id'),
    ('app_not_installed',      false, false, 'The Teams app is not installed for the recipient'),
    ('bad_request',            false, false, 'Microsoft answered 400: the request was malformed'),
    ('payload_too_large',      false, false, 'Microsoft answered 413: the message is over the size limit'),
    ('bot_throttled',          true,  false, 'Bot connector answered 429 Throttled'),
    ('bot_server_error',       true,  false, 'Bot connector answered 502/503/504'),
    ('bot_service_error',      false, false, 'Bot connector answered 500 ServiceError (Microsoft: do not retry)'),
    ('bot_precondition_failed',true,  false, 'Bot connector answered 412: concurrent operations on the conversation'),
    ('bot_unauthorized',       false, false, 'Bot connector answered 401 or NotEnoughPermissions'),
    ('bot_disabled',           false, false, 'Bot connector answered 403 BotDisabledByAdmin'),
    ('bot_not_in_conversation',false, true,  'Bot connector answered 403 BotNotInConversationRoster'),
    ('conversation_blocked',   false, true,  'The user blocked or uninstalled the bot (403 ConversationBlockedByUser)'),
    ('conversation_not_found', false, true,  'Bot connector answered 404 ConversationNotFound'),
    ('invalid_bot_api_host',   false, false, 'Bot connector answered 403 InvalidBotApiHost (wrong cloud)'),
    ('webhook_throttled',      true,  false, 'The Workflows webhook answered 429'),
    ('webhook_server_error',   true,  false, 'The Workflows webhook answered 5xx'),
    ('webhook_rejected',       false, false, 'The Workflows webhook refused the request (4xx)'),
    ('webhook_not_found',      false, false, 'The Workflows webhook no longer exists (404)'),
    ('credentials_invalid',    false, false, 'The login authority refused the tenant''s credentials'),
    ('credentials_unavailable',false, false, 'The tenant''s credential reference could not be resolved by the runner'),
    ('destination_not_allowed',false, false, 'The serviceUrl or webhook host is not on the runner''s allow-list'),
    ('expired',                false, false, 'Not sent before its expiry; closed without sending'),
    ('discarded',              false, false, 'Closed by a discard response without sending again');

GRANT SELECT ON msteams.categories, msteams.audit_actions, msteams.error_codes TO msteams_reader;
