"""Python helpers for a host application: typed wrappers of the host-facing SQL API.

Every wrapper takes the host's own psycopg connection and runs **in the host's transaction**:
an enqueue inside a business transaction that rolls back sends nothing (the transactional outbox).
Nothing here commits, opens a connection or keeps state.

    import psycopg
    from pgteams import host

    with psycopg.connect(dsn) as conn:                  # the host's login, a member of msteams_app
        with host.tenant_context(conn, tenant):         # one transaction, SET LOCAL msteams.tenant
            conn.execute("UPDATE tickets SET status = 'escalated' WHERE id = %s", (42,))
            result = host.enqueue_notification(conn, tenant, category="escalation", priority="critical",
                                               destination_type="chat", destination_id=user_aad_id,
                                               payload=payload, internal_notification_id="ticket-42-escalated")

Async twins with the same arguments live in :data:`aio` (``await host.aio.enqueue_notification(aconn, …)``
with a ``psycopg.AsyncConnection``); ``async with host.async_tenant_context(aconn, tenant)``.

Errors are mapped from the SQLSTATE (never from the message text) to :class:`InvalidArgument`
(22023, 22004), :class:`NotFound` (P0002), :class:`WrongState` (55000) and :class:`NotAllowed`
(42501); each carries ``sqlstate``, ``field`` (the SQL error's COLUMN, the argument name without
``p_``) and ``hint``. Any other database error propagates unchanged.

:func:`canonical_json` and :func:`payload_hash` reproduce ``msteams.canonical_json`` /
``msteams.payload_hash`` byte for byte (docs/sql-api.md, "canonical JSON, version 1").

Layout: ``errors`` (exceptions by SQLSTATE), ``results`` (what the wrappers return), ``driver``
(how a wrapper runs, sync and async), ``tenant`` (tenant context), ``api`` (the wrappers),
``canonical_json`` (payload hashes), ``cards`` (the Adaptive Card builder), ``frameworks`` (the
connection Django or SQLAlchemy holds).
"""

from __future__ import annotations

from .api import (capture_conversation_reference, enqueue_notification, enqueue_notifications,
                  enqueue_to_route, get_delivery, list_audit_events, list_deliveries, mark_delivered,
                  record_audit_event, record_response, retry_failed, set_route, set_webhook,
                  upsert_integration)
from .canonical_json import canonical_json, canonical_json_text, payload_hash, payload_hash_text
from .driver import aio
from .frameworks import NotInTransaction, django_connection, sqlalchemy_connection
from .errors import InvalidArgument, NotAllowed, NotFound, PgTeamsError, WrongState, map_error
from .results import (AuditEvent, AuditPage, Delivery, DeliveryPage, EnqueueResult, ResponseResult,
                      RetryResult, RouteEnqueueResult)
from .tenant import async_tenant_context, tenant_context

__all__ = [
    "PgTeamsError", "InvalidArgument", "NotFound", "WrongState", "NotAllowed", "map_error",
    "EnqueueResult", "RouteEnqueueResult", "ResponseResult", "Delivery", "DeliveryPage", "RetryResult",
    "AuditEvent", "AuditPage",
    "tenant_context", "async_tenant_context",
    "enqueue_notification", "enqueue_notifications", "enqueue_to_route", "set_route", "set_webhook",
    "upsert_integration", "record_audit_event", "capture_conversation_reference", "record_response",
    "mark_delivered", "get_delivery", "list_deliveries", "list_audit_events", "retry_failed",
    "canonical_json", "canonical_json_text", "payload_hash", "payload_hash_text", "aio",
    "django_connection", "sqlalchemy_connection", "NotInTransaction",
]
