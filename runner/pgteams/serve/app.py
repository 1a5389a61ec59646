"""The inbound ASGI application: ``POST /api/messages`` (see :mod:`pgteams.serve`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from typing import Any, Optional

import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import host
from ..host import cards
from .bot_auth import Authenticated, AuthError, BotFrameworkKeys, KeysUnavailable, aad_tenant, verify_token
from .settings import ServeSettings

log = logging.getLogger("pgteams.serve")

INVOKE_CARD_ACTION = "adaptiveCard/action"
CARD_RESPONSE_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_RESPONSE_TYPE = "application/vnd.microsoft.error"
_STATUS_OF = {"22023": 400, "22004": 400, "42501": 403, "P0002": 404, "55000": 409}
_CODE_OF = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            500: "InternalServerError", 501: "NotImplemented", 503: "ServiceUnavailable"}


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _error(status: int, message: str) -> JSONResponse:
    return _json({"statusCode": status, "type": ERROR_RESPONSE_TYPE,
                  "value": {"code": _CODE_OF.get(status, "Error"), "message": message}}, status)


def _unauthorized() -> JSONResponse:
    return _json({"error": {"code": "Unauthorized", "message": "Authorization has been denied for this request."}},
                 401)


class _BadAction(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _timestamp(activity: dict[str, Any]) -> dt.datetime:
    raw = activity.get("timestamp")
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            ts = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def _card_action(activity: dict[str, Any]) -> Optional[tuple[str, dict[str, Any]]]:
    """(verb, data) of a card action: the Action.Execute invoke, or its Action.Submit fallback."""
    value = activity.get("value")
    if activity.get("type") == "invoke" and activity.get("name") == INVOKE_CARD_ACTION:
        action = value.get("action") if isinstance(value, dict) else None
        if not isinstance(action, dict):
            raise _BadAction(400, "the invoke has no value.action")
        verb, data = action.get("verb"), action.get("data")
        if not isinstance(verb, str) or not verb:
            raise _BadAction(400, "value.action.verb is missing")
        return verb, data if isinstance(data, dict) else {}
    if activity.get("type") == "message" and isinstance(value, dict) and isinstance(value.get("pgteams_action"), str):
        data = {k: v for k, v in value.items() if k != "pgteams_action"}
        return value["pgteams_action"], data
    return None


async def _resolve_delivery(conn: psycopg.AsyncConnection, tenant: str, data: dict[str, Any],
                            activity: dict[str, Any]) -> int:
    """The delivery a card action is about: ``data.delivery_id``, or the delivery of
    ``data.internal_notification_id`` to ``data.destination_type``/``destination_id``."""
    raw = data.get("delivery_id")
    if raw is not None:
        if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())):
            raise _BadAction(400, "data.delivery_id is not a delivery id")
        return int(raw)
    inid = data.get("internal_notification_id")
    if not isinstance(inid, str) or not inid:
        raise _BadAction(400, "the action does not name a delivery (data.delivery_id)")
    rows = await host.aio.get_delivery(conn, tenant, internal_notification_id=inid)
    dtype, did = data.get("destination_type"), data.get("destination_id")
    ids = {r.delivery_id for r in rows
           if (dtype is None or r.destination_type == dtype) and (did is None or r.destination_id == did)}
    if len(ids) > 1:    # several destinations of one notification: the one this conversation got
        conv = (activity.get("conversation") or {}).get("id")
        user = (activity.get("from") or {}).get("aadObjectId")
        here = {r.delivery_id for r in rows if r.delivery_id in ids and r.destination_id in (conv, user)}
        ids = here or ids
    if not ids:
        raise _BadAction(404, "no delivery of this notification was found for this tenant")
    return max(ids)


def build_app(settings: ServeSettings, *, keys: Optional[BotFrameworkKeys] = None) -> Starlette:
    """The ASGI application. The database pool and the key cache open with the app's lifespan."""
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    keys = keys or BotFrameworkKeys(settings.openid_metadata_url, ca_file=settings.ca_file,
                                    ttl=settings.keys_ttl_seconds, refetch_interval=settings.keys_refetch_interval,
                                    timeout=settings.http_timeout)
    pool = AsyncConnectionPool(settings.dsn, min_size=settings.pool_min_size, max_size=settings.pool_max_size,
                               open=False, kwargs={"autocommit": True, "application_name": "pgteams-serve"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            await pool.close()
            await keys.aclose()

    async def authenticate(activity: dict[str, Any], token: str) -> Authenticated:
        claims = await verify_token(settings, keys, token, activity)
        aad = aad_tenant(activity)
        if aad is None:
            raise AuthError("the activity names no Entra tenant")
        aud = claims.get("aud")
        audiences = set(aud) if isinstance(aud, list) else {aud}
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT tenant, bot_app_id FROM msteams.lookup_bot_tenants(%s)", (aad,))
            rows = await cur.fetchall()
        matches = [(str(t), b) for t, b in rows if b in audiences]
        if not matches:
            raise AuthError("the token is not for this tenant's bot")
        if len(matches) > 1:
            log.warning("inbound: %d tenants share Entra tenant and bot app; refusing (fix the integrations)",
                        len(matches))
            raise AuthError("ambiguous tenant")
        tenant, bot = matches[0]
        return Authenticated(tenant, bot, claims)

    async def messages(request: Request) -> Response:
        auth_header = request.headers.get("authorization", "")
        scheme, _, token = auth_header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            log.info("inbound rejected: no bearer token")
            return _unauthorized()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            return _json({"error": "the activity is too large"}, 413)
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            return _json({"error": "the activity is too large"}, 413)
        try:
            activity = json.loads(raw)
        except ValueError:
            activity = None
        if not isinstance(activity, dict):
            return _json({"error": "the body must be an activity (a JSON object)"}, 400)
        kind, aid = activity.get("type"), activity.get("id")
        try:
            who = await authenticate(activity, token.strip())
        except AuthError as exc:
            log.info("inbound rejected: %s (type=%s id=%s)", exc, kind, aid)
            return _unauthorized()
        except KeysUnavailable as exc:
            log.warning("inbound refused: %s", exc)
            return _json({"error": "signing keys unavailable, try again"}, 503)
        except (psycopg.OperationalError, PoolTimeout, OSError) as exc:
            log.warning("inbound refused: database unavailable (%s)", type(exc).__name__)
            return _json({"error": "database unavailable, try again"}, 503)

        try:
            return await handle(who, activity)
        except (psycopg.OperationalError, PoolTimeout, OSError) as exc:
            log.warning("inbound tenant=%s type=%s id=%s: database unavailable (%s)", who.tenant, kind, aid,
                        type(exc).__name__)
            return _json({"error": "database unavailable, try again"}, 503)

    async def handle(who: Authenticated, activity: dict[str, Any]) -> Response:
        kind, name, aid = activity.get("type"), activity.get("name"), activity.get("id")
        async with pool.connection() as conn:
            captured = "-"
            try:
                async with host.async_tenant_context(conn, who.tenant):
                    captured = await host.aio.capture_conversation_reference(conn, who.tenant, activity)
            except host.PgTeamsError as exc:
                log.warning("inbound tenant=%s type=%s id=%s: reference not captured (%s %s)",
                            who.tenant, kind, aid, exc.sqlstate, exc.field)
            try:
                action = _card_action(activity)
            except _BadAction as exc:
                log.info("inbound tenant=%s type=%s id=%s: bad card action (%s)", who.tenant, kind, aid, exc)
                return _error(exc.status, str(exc))
            if action is None:
                log.info("inbound tenant=%s type=%s name=%s id=%s reference=%s", who.tenant, kind, name or "-",
                         aid, captured)
                if kind == "invoke":
                    return Response(status_code=501)
                return Response(status_code=200)
            verb, data = action
            try:
                body = await card_action(conn, who, activity, verb, data)
            except _BadAction as exc:
                log.info("card action tenant=%s id=%s verb=%s refused: %s", who.tenant, aid, verb, exc)
                return _error(exc.status, str(exc))
            except host.PgTeamsError as exc:
                status = _STATUS_OF.get(exc.sqlstate, 400)
                log.info("card action tenant=%s id=%s verb=%s refused: %s %s", who.tenant, aid, verb,
                         exc.sqlstate, exc.field)
                return _error(status, exc.message)
            except Exception:      # noqa: BLE001 - never a stack trace to the caller
                log.exception("card action tenant=%s id=%s verb=%s failed", who.tenant, aid, verb)
                return _error(500, "the action could not be recorded; try again")
            if kind == "message":           # the Action.Submit fallback: no card to return
                return Response(status_code=200)
            return _json(body)

    async def card_action(conn: psycopg.AsyncConnection, who: Authenticated, activity: dict[str, Any],
                          verb: str, data: dict[str, Any]) -> dict[str, Any]:
        if verb not in cards.CARD_ACTIONS:
            raise _BadAction(400, f"unknown verb; use one of: {', '.join(cards.CARD_ACTIONS)}")
        sender = activity.get("from") if isinstance(activity.get("from"), dict) else {}
        actor = sender.get("aadObjectId")
        if not isinstance(actor, str) or not actor:
            raise _BadAction(400, "the activity has no from.aadObjectId")
        activity_id = activity.get("id") if isinstance(activity.get("id"), str) else None
        async with host.async_tenant_context(conn, who.tenant):
            delivery_id = await _resolve_delivery(conn, who.tenant, data, activity)
            result = await host.aio.record_response(
                conn, who.tenant, delivery_id, verb, actor, surface="bot", activity_id=activity_id,
                input={"verb": verb, "data": data}, responded_at=_timestamp(activity))
        log.info("card action tenant=%s id=%s verb=%s delivery=%s outcome=%s audit=%s", who.tenant, activity_id,
                 verb, delivery_id, result.outcome, result.audit_id)
        summary = data.get("card") if isinstance(data.get("card"), dict) else {}
        title = summary.get("title") if isinstance(summary.get("title"), str) else f"Delivery {delivery_id}"
        priority = summary.get("priority") if summary.get("priority") in cards.PRIORITIES else "info"
        name = sender.get("name") if isinstance(sender.get("name"), str) and sender.get("name") else actor
        card = cards.responded_card(title, priority=priority, verb=verb, actor=name, at=_timestamp(activity),
                                    delivery_id=delivery_id, outcome=result.outcome)
        return {"statusCode": 200, "type": CARD_RESPONSE_TYPE, "value": card}

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    app = Starlette(routes=[Route(settings.path, messages, methods=["POST"]),
                            Route("/healthz", health, methods=["GET"])], lifespan=lifespan)
    app.state.keys = keys
    app.state.pool = pool
    return app
