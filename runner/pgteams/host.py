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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Optional, TypeVar, Union

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

__all__ = [
    "PgTeamsError", "InvalidArgument", "NotFound", "WrongState", "NotAllowed", "map_error",
    "EnqueueResult", "RouteEnqueueResult", "ResponseResult", "Delivery", "DeliveryPage", "RetryResult",
    "AuditEvent", "AuditPage",
    "tenant_context", "async_tenant_context",
    "enqueue_notification", "enqueue_notifications", "enqueue_to_route", "set_route", "set_webhook",
    "upsert_integration", "record_audit_event", "capture_conversation_reference", "record_response",
    "mark_delivered", "get_delivery", "list_deliveries", "list_audit_events", "retry_failed",
    "canonical_json", "canonical_json_text", "payload_hash", "payload_hash_text", "aio",
]

Tenant = Union[str, uuid.UUID]
JSON = Any
T = TypeVar("T")


# =================================================================================== errors
class PgTeamsError(Exception):
    """A refusal of the pgteams SQL API. ``sqlstate``, ``field`` (the argument, e.g. ``priority``
    or ``deliveries``), ``hint`` (how to fix it) come from the database error's diagnostics."""

    sqlstate: str = ""

    def __init__(self, message: str, *, sqlstate: str, field: Optional[str] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.field = field
        self.hint = hint


class InvalidArgument(PgTeamsError):
    """22023 (a bad value) or 22004 (a required argument is NULL)."""


class NotFound(PgTeamsError):
    """P0002: what the call refers to does not exist for this tenant (a delivery, a route)."""


class WrongState(PgTeamsError):
    """55000: not allowed in the current state (e.g. retry of a delivery that was sent)."""


class NotAllowed(PgTeamsError):
    """42501: the role may not call the function, or the tenant is not the one in msteams.tenant."""


_BY_SQLSTATE: dict[str, type[PgTeamsError]] = {
    "22023": InvalidArgument, "22004": InvalidArgument, "P0002": NotFound, "55000": WrongState,
    "42501": NotAllowed,
}


def map_error(exc: BaseException) -> BaseException:
    """The pgteams exception for a psycopg error, chosen by its SQLSTATE (the error itself when
    the SQLSTATE is not one of the API's)."""
    if not isinstance(exc, psycopg.Error):
        return exc
    cls = _BY_SQLSTATE.get(exc.sqlstate or "")
    if cls is None:
        return exc
    diag = exc.diag
    mapped = cls(diag.message_primary or str(exc), sqlstate=exc.sqlstate or "", field=diag.column_name,
                 hint=diag.message_hint)
    mapped.__cause__ = exc
    return mapped


# ================================================================================= results
@dataclass(frozen=True)
class EnqueueResult:
    delivery_id: int
    status: str                 # queued | skipped (| sent, delivered, failed, unknown for a duplicate)
    error_code: Optional[str]   # why it was skipped
    duplicate: bool             # a repeat of an earlier enqueue: the first delivery's id
    ordinal: Optional[int] = None   # position in the batch (enqueue_notifications), 1-based


@dataclass(frozen=True)
class RouteEnqueueResult:
    destination_type: str
    destination_id: str
    delivery_id: int
    status: str
    error_code: Optional[str]
    duplicate: bool


@dataclass(frozen=True)
class ResponseResult:
    audit_id: int
    outcome: str                # acknowledged | escalated | requeued | still_skipped | discarded | duplicate


@dataclass(frozen=True)
class Delivery:
    """One row of get_delivery / list_deliveries: an attempt outcome, or ``pending`` for a delivery
    still in the outbox (``ledger_id`` None)."""

    ledger_id: Optional[int]
    delivery_id: int
    created_at: dt.datetime
    status: str
    final: bool
    attempt_number: int
    internal_notification_id: str
    category: str
    priority: str
    destination_type: str
    destination_id: str
    event_type: Optional[str]
    correlation_id: Optional[str]
    status_code: Optional[int]
    error_code: Optional[str]
    error_message: Optional[str]
    retryable: Optional[bool]
    provider_message_id: Optional[str]
    provider_request_id: Optional[str]
    retry_at: Optional[dt.datetime]
    enqueued_at: Optional[dt.datetime]
    sent_at: Optional[dt.datetime]
    delivered_at: Optional[dt.datetime]
    responded_at: Optional[dt.datetime]
    response_action: Optional[str]


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: Optional[str]   # pass back as cursor= for the next page; None: this was the last


@dataclass(frozen=True)
class RetryResult:
    delivery_id: int
    destination_type: str
    destination_id: str
    status: str                  # queued | skipped
    error_code: Optional[str]


@dataclass(frozen=True)
class AuditEvent:
    tenant: uuid.UUID
    created_at: dt.datetime
    audit_id: int
    surface: str
    action_id: str
    actor_user_id: str
    target_type: Optional[str]
    target_id: Optional[str]
    result_status: str
    error_code: Optional[str]
    error_message: Optional[str]
    payload_hash: str
    delivery_id: Optional[int]
    conversation_id: Optional[str]
    activity_id: Optional[str]
    correlation_id: Optional[str]


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: Optional[str]


def _build(cls: type[T], row: Mapping[str, Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row.items() if k in names})


# ============================================================================ the machinery
# Each wrapper is written once as a generator that yields (sql, params, binary) and receives the
# rows; a sync and an async driver run it on a Connection / AsyncConnection.
_Step = tuple[str, Sequence[Any], bool]
_Plan = Generator[_Step, list[dict[str, Any]], Any]


def _run_sync(conn: psycopg.Connection, plan: _Plan) -> Any:
    try:
        step = next(plan)
        while True:
            sql, params, binary = step
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(sql, params, binary=binary)
                rows = cur.fetchall() if cur.description is not None else []
            step = plan.send(rows)
    except StopIteration as stop:
        return stop.value
    except psycopg.Error as exc:
        raise map_error(exc) from exc


async def _run_async(conn: psycopg.AsyncConnection, plan: _Plan) -> Any:
    try:
        step = next(plan)
        while True:
            sql, params, binary = step
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(sql, params, binary=binary)
                rows = await cur.fetchall() if cur.description is not None else []
            step = plan.send(rows)
    except StopIteration as stop:
        return stop.value
    except psycopg.Error as exc:
        raise map_error(exc) from exc


class _Aio:
    """Async twins of the wrappers: ``await host.aio.<name>(async_connection, …)``."""

    def __repr__(self) -> str:
        return f"<pgteams.host.aio: {', '.join(sorted(n for n in vars(self)))}>"


aio = _Aio()


def _api(plan_fn: Callable[..., _Plan]) -> Callable[..., Any]:
    """Turn a plan into the sync wrapper (returned) and its async twin (``aio.<name>``)."""

    @functools.wraps(plan_fn)
    def sync(conn: psycopg.Connection, *args: Any, **kwargs: Any) -> Any:
        return _run_sync(conn, plan_fn(*args, **kwargs))

    @functools.wraps(plan_fn)
    async def asynchronous(conn: psycopg.AsyncConnection, *args: Any, **kwargs: Any) -> Any:
        return await _run_async(conn, plan_fn(*args, **kwargs))

    # help() and inspect show the wrapper's real call: the connection first.
    plan_sig = inspect.signature(plan_fn)
    conn_param = inspect.Parameter("conn", inspect.Parameter.POSITIONAL_ONLY)
    params = [conn_param, *plan_sig.parameters.values()]
    sync.__signature__ = plan_sig.replace(parameters=params, return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]
    asynchronous.__signature__ = sync.__signature__  # type: ignore[attr-defined]
    setattr(aio, plan_fn.__name__, asynchronous)
    return sync


def _tenant(tenant: Tenant) -> str:
    if isinstance(tenant, uuid.UUID):
        return str(tenant)
    try:
        return str(uuid.UUID(str(tenant)))
    except ValueError:
        raise InvalidArgument("tenant is not a uuid", sqlstate="22023", field="tenant",
                              hint="Pass the tenant uuid the call is for.") from None


def _json(value: JSON) -> Optional[Jsonb]:
    return None if value is None else Jsonb(value)


# ============================================================================ tenant context
def _set_tenant_sql() -> str:
    return "SELECT set_config('msteams.tenant', %s, true) AS tenant, current_setting('msteams.tenant', true) AS prev"


@contextlib.contextmanager
def tenant_context(conn: psycopg.Connection, tenant: Tenant) -> Iterator[psycopg.Connection]:
    """Act for ``tenant`` (``SET LOCAL msteams.tenant``) for the length of the block.

    Outside a transaction it opens one (committed at the end of the block, rolled back on an
    exception), so the block is the host's business transaction. Inside one it only sets the
    tenant, and puts the previous value back when the block ends."""
    value = _tenant(tenant)
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        with conn.transaction():
            conn.execute("SELECT set_config('msteams.tenant', %s, true)", (value,))
            yield conn
        return
    prev = conn.execute("SELECT current_setting('msteams.tenant', true)").fetchone()[0]
    conn.execute("SELECT set_config('msteams.tenant', %s, true)", (value,))
    try:
        yield conn
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.execute("SELECT set_config('msteams.tenant', %s, true)", (prev or "",))


@contextlib.asynccontextmanager
async def async_tenant_context(conn: psycopg.AsyncConnection, tenant: Tenant) -> AsyncIterator[psycopg.AsyncConnection]:
    """The async twin of :func:`tenant_context`."""
    value = _tenant(tenant)
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        async with conn.transaction():
            await conn.execute("SELECT set_config('msteams.tenant', %s, true)", (value,))
            yield conn
        return
    cur = await conn.execute("SELECT current_setting('msteams.tenant', true)")
    prev = (await cur.fetchone())[0]
    await conn.execute("SELECT set_config('msteams.tenant', %s, true)", (value,))
    try:
        yield conn
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            await conn.execute("SELECT set_config('msteams.tenant', %s, true)", (prev or "",))


# ================================================================================ wrappers
@_api
def enqueue_notification(tenant: Tenant, *, category: str, priority: str, destination_type: str,
                         destination_id: str, payload: JSON, internal_notification_id: str,
                         idempotency_key: Optional[str] = None, correlation_id: Optional[str] = None,
                         event_type: Optional[str] = None, run_at: Optional[dt.datetime] = None,
                         expires_at: Optional[dt.datetime] = None) -> _Plan:
    """Queue one notification (``msteams.enqueue_notification``) in the caller's transaction.
    Returns :class:`EnqueueResult`; a repeat (same key) returns the first delivery, ``duplicate``."""
    rows = yield (
        "SELECT * FROM msteams.enqueue_notification(p_tenant => %s::uuid, p_category => %s, p_priority => %s,"
        " p_destination_type => %s, p_destination_id => %s, p_payload => %s,"
        " p_internal_notification_id => %s, p_idempotency_key => %s, p_correlation_id => %s,"
        " p_event_type => %s, p_run_at => %s, p_expires_at => %s)",
        (_tenant(tenant), category, priority, destination_type, destination_id, _json(payload),
         internal_notification_id, idempotency_key, correlation_id, event_type, run_at, expires_at), False)
    return _build(EnqueueResult, rows[0])


def _delivery_item(item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for key in ("run_at", "expires_at"):
        if isinstance(out.get(key), dt.datetime):
            out[key] = out[key].isoformat()
    return out


@_api
def enqueue_notifications(tenant: Tenant, deliveries: Sequence[Mapping[str, Any]]) -> _Plan:
    """Queue many notifications of one tenant in one call, all or nothing
    (``msteams.enqueue_notifications``). Each item has the keyword arguments of
    :func:`enqueue_notification`. The array goes to the server as a binary parameter. Returns one
    :class:`EnqueueResult` per item, in order (``ordinal`` 1-based)."""
    items = [_delivery_item(d) for d in deliveries]
    rows = yield ("SELECT * FROM msteams.enqueue_notifications(%s::uuid, %b)",
                  (_tenant(tenant), Jsonb(items)), True)
    return [_build(EnqueueResult, r) for r in rows]


@_api
def enqueue_to_route(tenant: Tenant, route: str, *, category: str, priority: str,
                     payloads: Mapping[str, JSON], internal_notification_id: str,
                     idempotency_key: Optional[str] = None, correlation_id: Optional[str] = None,
                     event_type: Optional[str] = None, run_at: Optional[dt.datetime] = None,
                     expires_at: Optional[dt.datetime] = None) -> _Plan:
    """Fan one notification out to every destination of a route (``msteams.enqueue_to_route``);
    ``payloads`` maps each destination type the route uses to its payload."""
    rows = yield (
        "SELECT * FROM msteams.enqueue_to_route(p_tenant => %s::uuid, p_route => %s, p_category => %s,"
        " p_priority => %s, p_payloads => %b, p_internal_notification_id => %s, p_idempotency_key => %s,"
        " p_correlation_id => %s, p_event_type => %s, p_run_at => %s, p_expires_at => %s)",
        (_tenant(tenant), route, category, priority, Jsonb(dict(payloads)), internal_notification_id,
         idempotency_key, correlation_id, event_type, run_at, expires_at), True)
    return [_build(RouteEnqueueResult, r) for r in rows]


@_api
def set_route(tenant: Tenant, route: str, destinations: Sequence[Mapping[str, str]]) -> _Plan:
    """Create or replace a named route: ``destinations`` is a list of
    ``{"destination_type": …, "destination_id": …}``. Returns how many destinations it has."""
    rows = yield ("SELECT msteams.set_route(%s::uuid, %s, %s) AS n",
                  (_tenant(tenant), route, Jsonb([dict(d) for d in destinations])), False)
    return rows[0]["n"]


@_api
def set_webhook(tenant: Tenant, name: str, url: str) -> _Plan:
    """Store a Workflows webhook URL (a secret) under a name that routes and deliveries use."""
    yield ("SELECT msteams.set_webhook(%s::uuid, %s, %s)", (_tenant(tenant), name, url), False)
    return None


@_api
def upsert_integration(tenant: Tenant, *, install_status: str = "active", addon_active: bool = True,
                       aad_tenant_id: Optional[str] = None, client_id: Optional[str] = None,
                       credential_ref: Optional[str] = None, bot_app_id: Optional[str] = None,
                       bot_credential_ref: Optional[str] = None, teams_app_id: Optional[str] = None) -> _Plan:
    """Create or replace the tenant's Teams settings. Credentials are references
    (``env:NAME``, ``file:/path``, ``cert:/key.pem#thumbprint``), never secrets."""
    yield ("SELECT msteams.upsert_integration(p_tenant => %s::uuid, p_install_status => %s,"
           " p_addon_active => %s, p_aad_tenant_id => %s, p_client_id => %s, p_credential_ref => %s,"
           " p_bot_app_id => %s, p_bot_credential_ref => %s, p_teams_app_id => %s)",
           (_tenant(tenant), install_status, addon_active, aad_tenant_id, client_id, credential_ref,
            bot_app_id, bot_credential_ref, teams_app_id), False)
    return None


@_api
def record_audit_event(tenant: Tenant, *, surface: str, action_id: str, actor_user_id: str,
                       result_status: str, input: JSON = None, target_type: Optional[str] = None,
                       target_id: Optional[str] = None, error_code: Optional[str] = None,
                       error_message: Optional[str] = None, delivery_id: Optional[int] = None,
                       conversation_id: Optional[str] = None, activity_id: Optional[str] = None,
                       correlation_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> _Plan:
    """Append one audit event; ``input`` is hashed (``payload_hash(input)``), never stored.
    Returns its ``audit_id`` (the first one for a repeated ``idempotency_key``)."""
    rows = yield (
        "SELECT msteams.record_audit_event(p_tenant => %s::uuid, p_surface => %s, p_action_id => %s,"
        " p_actor_user_id => %s, p_result_status => %s, p_input => %s, p_target_type => %s,"
        " p_target_id => %s, p_error_code => %s, p_error_message => %s, p_delivery_id => %s,"
        " p_conversation_id => %s, p_activity_id => %s, p_correlation_id => %s,"
        " p_idempotency_key => %s) AS audit_id",
        (_tenant(tenant), surface, action_id, actor_user_id, result_status, _json(input), target_type,
         target_id, error_code, error_message, delivery_id, conversation_id, activity_id, correlation_id,
         idempotency_key), False)
    return rows[0]["audit_id"]


@_api
def capture_conversation_reference(tenant: Tenant, activity: Mapping[str, Any]) -> _Plan:
    """Store (or refresh, revive, or mark stale on a removal) the conversation reference of a raw
    inbound Bot Framework activity. Returns inserted | refreshed | revived | unchanged | stale."""
    rows = yield ("SELECT msteams.capture_conversation_reference(%s::uuid, %s) AS result",
                  (_tenant(tenant), Jsonb(dict(activity))), False)
    return rows[0]["result"]


@_api
def record_response(tenant: Tenant, delivery_id: int, action: str, actor_user_id: str, *,
                    surface: str = "bot", activity_id: Optional[str] = None,
                    correlation_id: Optional[str] = None, input: JSON = None,
                    responded_at: Optional[dt.datetime] = None) -> _Plan:
    """A recipient acted on a delivery (acknowledge, escalate, retry, discard): records the
    response and its audit event. With ``activity_id`` (the Teams invoke id) a repeat of the same
    invoke changes nothing and returns the first ``audit_id`` with outcome ``duplicate``."""
    rows = yield (
        "SELECT * FROM msteams.record_response(p_tenant => %s::uuid, p_delivery_id => %s, p_action => %s,"
        " p_actor_user_id => %s, p_surface => %s, p_activity_id => %s, p_correlation_id => %s,"
        " p_input => %s, p_responded_at => coalesce(%s::timestamptz, now()))",
        (_tenant(tenant), delivery_id, action, actor_user_id, surface, activity_id, correlation_id,
         _json(input), responded_at), False)
    return _build(ResponseResult, rows[0])


@_api
def mark_delivered(tenant: Tenant, delivery_id: int, delivered_at: Optional[dt.datetime] = None) -> _Plan:
    """Confirm a sent delivery reached its recipient. False when it already was marked."""
    rows = yield ("SELECT msteams.mark_delivered(%s::uuid, %s, coalesce(%s::timestamptz, now())) AS changed",
                  (_tenant(tenant), delivery_id, delivered_at), False)
    return rows[0]["changed"]


@_api
def get_delivery(tenant: Tenant, *, delivery_id: Optional[int] = None,
                 internal_notification_id: Optional[str] = None) -> _Plan:
    """"Did it go out?": every attempt outcome of one delivery (or of every delivery of the host's
    notification), oldest first, then a ``pending`` row per delivery still queued. Needs the
    tenant context (a reader sees only the tenant in msteams.tenant)."""
    rows = yield ("SELECT * FROM msteams.get_delivery(p_tenant => %s::uuid, p_delivery_id => %s,"
                  " p_internal_notification_id => %s)",
                  (_tenant(tenant), delivery_id, internal_notification_id), False)
    return [_build(Delivery, r) for r in rows]


@_api
def list_deliveries(tenant: Tenant, *, status: Optional[str] = None, category: Optional[str] = None,
                    since: Optional[dt.datetime] = None, limit: int = 50, cursor: Optional[str] = None) -> _Plan:
    """One page of the tenant's delivery ledger, newest first (keyset; pass ``next_cursor`` back)."""
    rows = yield ("SELECT * FROM msteams.list_deliveries(p_tenant => %s::uuid, p_status => %s, p_category => %s,"
                  " p_since => %s, p_limit => %s, p_cursor => %s)",
                  (_tenant(tenant), status, category, since, limit, cursor), False)
    items = [_build(Delivery, r) for r in rows]
    return DeliveryPage(items, rows[-1]["next_cursor"] if rows else None)


@_api
def list_audit_events(tenant: Tenant, *, surface: Optional[str] = None, action_id: Optional[str] = None,
                      actor_user_id: Optional[str] = None, result_status: Optional[str] = None,
                      since: Optional[dt.datetime] = None, limit: int = 50, cursor: Optional[str] = None) -> _Plan:
    """One page of the tenant's audit events, newest first."""
    rows = yield ("SELECT * FROM msteams.list_audit_events(p_tenant => %s::uuid, p_surface => %s,"
                  " p_action_id => %s, p_actor_user_id => %s, p_result_status => %s, p_since => %s,"
                  " p_limit => %s, p_cursor => %s)",
                  (_tenant(tenant), surface, action_id, actor_user_id, result_status, since, limit, cursor), False)
    return AuditPage([_build(AuditEvent, r) for r in rows], rows[-1]["next_cursor"] if rows else None)


@_api
def retry_failed(tenant: Tenant, internal_notification_id: str) -> _Plan:
    """Queue again every destination of the notification whose last outcome was failed or skipped."""
    rows = yield ("SELECT * FROM msteams.retry_failed(%s::uuid, %s)",
                  (_tenant(tenant), internal_notification_id), False)
    return [_build(RetryResult, r) for r in rows]


# ============================================================================ canonical JSON
_MAX_DIGITS_BEFORE_POINT = 131072      # PostgreSQL numeric's range (what jsonb accepts)
_MAX_DIGITS_AFTER_POINT = 16383


class _Number(str):
    """A JSON number kept as its source token."""


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} has no canonical form (jsonb refuses it)")


def _number(token: str) -> str:
    d = Decimal(token)
    if d.is_nan() or d.is_infinite():
        raise ValueError(f"{token} has no canonical form (jsonb refuses it)")
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if d != 0 and len(digits) + exponent > _MAX_DIGITS_BEFORE_POINT:
        raise ValueError("a number outside PostgreSQL numeric's range has no canonical form")
    if max(0, -exponent) > _MAX_DIGITS_AFTER_POINT:
        raise ValueError("a number with more than 16383 digits after the point has no canonical form")
    text = format(d.copy_abs(), "f")          # copy_abs, not abs(): abs() rounds to 28 digits
    return "-" + text if d.is_signed() and d != 0 else text


def _string(s: str) -> str:
    if "\x00" in s:
        raise ValueError("a string with U+0000 has no canonical form (jsonb refuses \\u0000)")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string with an unpaired surrogate has no canonical form") from None
    return json.dumps(s, ensure_ascii=False)


def _canonical(v: Any) -> str:
    if isinstance(v, _Number):
        return _number(v)
    if isinstance(v, dict):
        keys = sorted(v)              # str order is code point order = UTF-8 byte order (COLLATE "C")
        return "{" + ",".join(_string(k) + ":" + _canonical(v[k]) for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_canonical(x) for x in v) + "]"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return _string(v)
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def canonical_json_text(text: Union[str, bytes]) -> str:
    """The pgteams canonical JSON (v1) of a JSON document given as text, exactly as
    ``msteams.canonical_json(text::jsonb)``: number tokens keep their digits (``2.50`` stays
    ``2.50``), escapes are decoded, the last of repeated keys wins. Raises ValueError for what
    jsonb refuses (NaN/Infinity, ``\\u0000``, unpaired surrogates, numbers out of numeric range)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    value = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_refuse_constant)
    return _canonical(value)


def canonical_json(value: JSON) -> str:
    """The canonical JSON of a Python JSON value, as SQL computes it for the same value passed as a
    ``jsonb`` parameter (psycopg sends ``json.dumps(value)``; floats as their shortest repr)."""
    if isinstance(value, Decimal):
        return _number(str(value))
    return canonical_json_text(json.dumps(value, allow_nan=False))


def payload_hash_text(text: Union[str, bytes]) -> str:
    """``msteams.payload_hash(text::jsonb)``: lowercase hex SHA-256 of the canonical JSON."""
    return hashlib.sha256(canonical_json_text(text).encode("utf-8")).hexdigest()


def payload_hash(value: JSON) -> str:
    """``msteams.payload_hash`` of a Python JSON value (the audit ``payload_hash`` of an input
    passed to :func:`record_audit_event`). ``None`` hashes as the JSON ``null``, as
    record_audit_event does for a missing input."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
