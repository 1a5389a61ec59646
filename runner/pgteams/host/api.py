"""The host-facing SQL API as typed Python calls, one wrapper per function.

Each takes the host's own psycopg connection first and runs in the host's transaction; the async
twin of each is ``aio.<name>`` (pgteams.host.driver).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from psycopg.types.json import Jsonb

from .driver import JSON, Plan, Tenant, json_param, tenant_param, wrapper
from .results import (AuditEvent, AuditPage, Delivery, DeliveryPage, EnqueueResult, ResponseResult,
                      RetryResult, RouteEnqueueResult, build)


@wrapper
def enqueue_notification(tenant: Tenant, *, category: str, priority: str, destination_type: str,
                         destination_id: str, payload: JSON, internal_notification_id: str,
                         idempotency_key: Optional[str] = None, correlation_id: Optional[str] = None,
                         event_type: Optional[str] = None, run_at: Optional[dt.datetime] = None,
                         expires_at: Optional[dt.datetime] = None) -> Plan:
    """Queue one notification (``msteams.enqueue_notification``) in the caller's transaction.
    Returns :class:`EnqueueResult`; a repeat (same key) returns the first delivery, ``duplicate``."""
    rows = yield (
        "SELECT * FROM msteams.enqueue_notification(p_tenant => %s::uuid, p_category => %s, p_priority => %s,"
        " p_destination_type => %s, p_destination_id => %s, p_payload => %s,"
        " p_internal_notification_id => %s, p_idempotency_key => %s, p_correlation_id => %s,"
        " p_event_type => %s, p_run_at => %s, p_expires_at => %s)",
        (tenant_param(tenant), category, priority, destination_type, destination_id, json_param(payload),
         internal_notification_id, idempotency_key, correlation_id, event_type, run_at, expires_at), False)
    return build(EnqueueResult, rows[0])


def _delivery_item(item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for key in ("run_at", "expires_at"):
        if isinstance(out.get(key), dt.datetime):
            out[key] = out[key].isoformat()
    return out


@wrapper
def enqueue_notifications(tenant: Tenant, deliveries: Sequence[Mapping[str, Any]]) -> Plan:
    """Queue many notifications of one tenant in one call, all or nothing
    (``msteams.enqueue_notifications``). Each item has the keyword arguments of
    :func:`enqueue_notification`. The array goes to the server as a binary parameter. Returns one
    :class:`EnqueueResult` per item, in order (``ordinal`` 1-based)."""
    items = [_delivery_item(d) for d in deliveries]
    rows = yield ("SELECT * FROM msteams.enqueue_notifications(%s::uuid, %b)",
                  (tenant_param(tenant), Jsonb(items)), True)
    return [build(EnqueueResult, r) for r in rows]


@wrapper
def enqueue_to_route(tenant: Tenant, route: str, *, category: str, priority: str,
                     payloads: Mapping[str, JSON], internal_notification_id: str,
                     idempotency_key: Optional[str] = None, correlation_id: Optional[str] = None,
                     event_type: Optional[str] = None, run_at: Optional[dt.datetime] = None,
                     expires_at: Optional[dt.datetime] = None) -> Plan:
    """Fan one notification out to every destination of a route (``msteams.enqueue_to_route``);
    ``payloads`` maps each destination type the route uses to its payload."""
    rows = yield (
        "SELECT * FROM msteams.enqueue_to_route(p_tenant => %s::uuid, p_route => %s, p_category => %s,"
        " p_priority => %s, p_payloads => %b, p_internal_notification_id => %s, p_idempotency_key => %s,"
        " p_correlation_id => %s, p_event_type => %s, p_run_at => %s, p_expires_at => %s)",
        (tenant_param(tenant), route, category, priority, Jsonb(dict(payloads)), internal_notification_id,
         idempotency_key, correlation_id, event_type, run_at, expires_at), True)
    return [build(RouteEnqueueResult, r) for r in rows]


@wrapper
def set_route(tenant: Tenant, route: str, destinations: Sequence[Mapping[str, str]]) -> Plan:
    """Create or replace a named route: ``destinations`` is a list of
    ``{"destination_type": …, "destination_id": …}``. Returns how many destinations it has."""
    rows = yield ("SELECT msteams.set_route(%s::uuid, %s, %s) AS n",
                  (tenant_param(tenant), route, Jsonb([dict(d) for d in destinations])), False)
    return rows[0]["n"]


@wrapper
def set_webhook(tenant: Tenant, name: str, url: str) -> Plan:
    """Store a Workflows webhook URL (a secret) under a name that routes and deliveries use."""
    yield ("SELECT msteams.set_webhook(%s::uuid, %s, %s)", (tenant_param(tenant), name, url), False)
    return None


@wrapper
def upsert_integration(tenant: Tenant, *, install_status: str = "active", addon_active: bool = True,
                       aad_tenant_id: Optional[str] = None, client_id: Optional[str] = None,
                       credential_ref: Optional[str] = None, bot_app_id: Optional[str] = None,
                       bot_credential_ref: Optional[str] = None, teams_app_id: Optional[str] = None) -> Plan:
    """Create or replace the tenant's Teams settings. Credentials are references
    (``env:NAME``, ``file:/path``, ``cert:/key.pem#thumbprint``), never secrets."""
    yield ("SELECT msteams.upsert_integration(p_tenant => %s::uuid, p_install_status => %s,"
           " p_addon_active => %s, p_aad_tenant_id => %s, p_client_id => %s, p_credential_ref => %s,"
           " p_bot_app_id => %s, p_bot_credential_ref => %s, p_teams_app_id => %s)",
           (tenant_param(tenant), install_status, addon_active, aad_tenant_id, client_id, credential_ref,
            bot_app_id, bot_credential_ref, teams_app_id), False)
    return None


@wrapper
def record_audit_event(tenant: Tenant, *, surface: str, action_id: str, actor_user_id: str,
                       result_status: str, input: JSON = None, target_type: Optional[str] = None,
                       target_id: Optional[str] = None, error_code: Optional[str] = None,
                       error_message: Optional[str] = None, delivery_id: Optional[int] = None,
                       conversation_id: Optional[str] = None, activity_id: Optional[str] = None,
                       correlation_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> Plan:
    """Append one audit event; ``input`` is hashed (``payload_hash(input)``), never stored.
    Returns its ``audit_id`` (the first one for a repeated ``idempotency_key``)."""
    rows = yield (
        "SELECT msteams.record_audit_event(p_tenant => %s::uuid, p_surface => %s, p_action_id => %s,"
        " p_actor_user_id => %s, p_result_status => %s, p_input => %s, p_target_type => %s,"
        " p_target_id => %s, p_error_code => %s, p_error_message => %s, p_delivery_id => %s,"
        " p_conversation_id => %s, p_activity_id => %s, p_correlation_id => %s,"
        " p_idempotency_key => %s) AS audit_id",
        (tenant_param(tenant), surface, action_id, actor_user_id, result_status, json_param(input), target_type,
         target_id, error_code, error_message, delivery_id, conversation_id, activity_id, correlation_id,
         idempotency_key), False)
    return rows[0]["audit_id"]


@wrapper
def capture_conversation_reference(tenant: Tenant, activity: Mapping[str, Any]) -> Plan:
    """Store (or refresh, revive, or mark stale on a removal) the conversation reference of a raw
    inbound Bot Framework activity. Returns inserted | refreshed | revived | unchanged | stale."""
    rows = yield ("SELECT msteams.capture_conversation_reference(%s::uuid, %s) AS result",
                  (tenant_param(tenant), Jsonb(dict(activity))), False)
    return rows[0]["result"]


@wrapper
def record_response(tenant: Tenant, delivery_id: int, action: str, actor_user_id: str, *,
                    surface: str = "bot", activity_id: Optional[str] = None,
                    correlation_id: Optional[str] = None, input: JSON = None,
                    responded_at: Optional[dt.datetime] = None) -> Plan:
    """A recipient acted on a delivery (acknowledge, escalate, retry, discard): records the
    response and its audit event. With ``activity_id`` (the Teams invoke id) a repeat of the same
    invoke changes nothing and returns the first ``audit_id`` with outcome ``duplicate``."""
    rows = yield (
        "SELECT * FROM msteams.record_response(p_tenant => %s::uuid, p_delivery_id => %s, p_action => %s,"
        " p_actor_user_id => %s, p_surface => %s, p_activity_id => %s, p_correlation_id => %s,"
        " p_input => %s, p_responded_at => coalesce(%s::timestamptz, now()))",
        (tenant_param(tenant), delivery_id, action, actor_user_id, surface, activity_id, correlation_id,
         json_param(input), responded_at), False)
    return build(ResponseResult, rows[0])


@wrapper
def mark_delivered(tenant: Tenant, delivery_id: int, delivered_at: Optional[dt.datetime] = None) -> Plan:
    """Confirm a sent delivery reached its recipient. False when it already was marked."""
    rows = yield ("SELECT msteams.mark_delivered(%s::uuid, %s, coalesce(%s::timestamptz, now())) AS changed",
                  (tenant_param(tenant), delivery_id, delivered_at), False)
    return rows[0]["changed"]


@wrapper
def get_delivery(tenant: Tenant, *, delivery_id: Optional[int] = None,
                 internal_notification_id: Optional[str] = None) -> Plan:
    """"Did it go out?": every attempt outcome of one delivery (or of every delivery of the host's
    notification), oldest first, then a ``pending`` row per delivery still queued. Needs the
    tenant context (a reader sees only the tenant in msteams.tenant)."""
    rows = yield ("SELECT * FROM msteams.get_delivery(p_tenant => %s::uuid, p_delivery_id => %s,"
                  " p_internal_notification_id => %s)",
                  (tenant_param(tenant), delivery_id, internal_notification_id), False)
    return [build(Delivery, r) for r in rows]


@wrapper
def list_deliveries(tenant: Tenant, *, status: Optional[str] = None, category: Optional[str] = None,
                    since: Optional[dt.datetime] = None, limit: int = 50, cursor: Optional[str] = None) -> Plan:
    """One page of the tenant's delivery ledger, newest first (keyset; pass ``next_cursor`` back)."""
    rows = yield ("SELECT * FROM msteams.list_deliveries(p_tenant => %s::uuid, p_status => %s, p_category => %s,"
                  " p_since => %s, p_limit => %s, p_cursor => %s)",
                  (tenant_param(tenant), status, category, since, limit, cursor), False)
    items = [build(Delivery, r) for r in rows]
    return DeliveryPage(items, rows[-1]["next_cursor"] if rows else None)


@wrapper
def list_audit_events(tenant: Tenant, *, surface: Optional[str] = None, action_id: Optional[str] = None,
                      actor_user_id: Optional[str] = None, result_status: Optional[str] = None,
                      since: Optional[dt.datetime] = None, limit: int = 50, cursor: Optional[str] = None) -> Plan:
    """One page of the tenant's audit events, newest first."""
    rows = yield ("SELECT * FROM msteams.list_audit_events(p_tenant => %s::uuid, p_surface => %s,"
                  " p_action_id => %s, p_actor_user_id => %s, p_result_status => %s, p_since => %s,"
                  " p_limit => %s, p_cursor => %s)",
                  (tenant_param(tenant), surface, action_id, actor_user_id, result_status, since, limit, cursor), False)
    return AuditPage([build(AuditEvent, r) for r in rows], rows[-1]["next_cursor"] if rows else None)


@wrapper
def retry_failed(tenant: Tenant, internal_notification_id: str) -> Plan:
    """Queue again every destination of the notification whose last outcome was failed or skipped."""
    rows = yield ("SELECT * FROM msteams.retry_failed(%s::uuid, %s)",
                  (tenant_param(tenant), internal_notification_id), False)
    return [build(RetryResult, r) for r in rows]
