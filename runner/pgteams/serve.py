"""``pgteams serve``: the inbound side. Teams (through the Bot Framework) posts activities here.

``POST /api/messages`` (the path is a setting):

1. **Authentication, before anything is read from or written to the database.** The
   ``Authorization: Bearer`` JWT must be RS256, signed by a key from the Bot Framework OpenID
   metadata (``openid_metadata_url`` → ``jwks_uri``; keys cached, refetched for an unknown
   ``kid`` at most once a minute), endorsed for the activity's ``channelId`` when the key lists
   endorsements, issued by ``issuer`` (``https://api.botframework.com``), unexpired (``exp``
   required, ``nbf`` honoured, ``leeway_seconds`` of clock skew), and its ``serviceurl`` claim must
   be the activity's ``serviceUrl``. Then the tenant: the activity's Entra tenant
   (``conversation.tenantId``, else ``channelData.tenant.id``) is looked up with
   ``msteams.lookup_bot_tenants`` (no secrets), and the token's audience must be the ``bot_app_id``
   of exactly one of those tenants. Anything else is **401 and nothing is recorded**.
2. Every authenticated activity: ``msteams.capture_conversation_reference(tenant, activity)``
   (DESIGN Flow C): stores or refreshes the reference, marks it stale on a bot removal or an
   uninstall, revives it on the next activity.
3. Card actions: an ``invoke`` named ``adaptiveCard/action`` whose ``value.action.verb`` is
   acknowledge / escalate / retry / discard and whose ``value.action.data`` names the delivery
   (``delivery_id``, or the ``internal_notification_id`` + destination a card built before the
   enqueue carries; see :mod:`pgteams.cards`) → ``msteams.record_response`` (actor =
   ``from.aadObjectId``, ``p_activity_id`` = ``activity.id``, so Teams' retries of one invoke are
   recorded once) → ``200 {"statusCode":200,"type":"application/vnd.microsoft.card.adaptive",
   "value":<the card redrawn: who did what, when>}``. A refusal answers
   ``application/vnd.microsoft.error`` with the status of its SQLSTATE (22023/22004 → 400,
   42501 → 403, P0002 → 404, 55000 → 409), never a stack trace. The ``Action.Submit`` fallback
   (a ``message`` whose ``value`` has ``pgteams_action``) is recorded the same way.

Logs name the tenant, the activity type and id and the outcome; never the token, never the text.

Run it: ``pgteams serve --dsn … [--port 3978]`` behind TLS termination, with the bot's messaging
endpoint pointing at ``https://<host>/api/messages``. Its database login needs only ``msteams_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx
import jwt
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import cards, host

__all__ = ["ServeSettings", "BotFrameworkKeys", "AuthError", "build_app", "BackgroundServer", "serve_command",
           "DEFAULT_OPENID_METADATA_URL", "DEFAULT_ISSUER"]

log = logging.getLogger("pgteams.serve")

DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_ISSUER = "https://api.botframework.com"
SERVICE_URL_CLAIMS = ("serviceurl", "serviceUrl")   # Bot Framework writes "serviceurl"
INVOKE_CARD_ACTION = "adaptiveCard/action"
CARD_RESPONSE_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_RESPONSE_TYPE = "application/vnd.microsoft.error"
_STATUS_OF = {"22023": 400, "22004": 400, "42501": 403, "P0002": 404, "55000": 409}
_CODE_OF = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            500: "InternalServerError", 501: "NotImplemented", 503: "ServiceUnavailable"}


@dataclass
class ServeSettings:
    dsn: str
    path: str = "/api/messages"
    openid_metadata_url: str = DEFAULT_OPENID_METADATA_URL
    issuer: str = DEFAULT_ISSUER
    leeway_seconds: float = 300.0           # clock skew allowed on exp/nbf (the Bot Framework SDKs use 5 min)
    ca_file: Optional[str] = None           # trust this CA for the metadata/JWKS (the sandbox's)
    keys_ttl_seconds: float = 24 * 3600.0   # how long fetched signing keys are trusted without a refetch
    keys_refetch_interval: float = 60.0     # an unknown kid refetches at most this often
    pool_min_size: int = 1
    pool_max_size: int = 10
    max_body_bytes: int = 1024 * 1024
    http_timeout: float = 10.0

    @classmethod
    def from_env(cls, **overrides: Any) -> "ServeSettings":
        env = {"dsn": "PGTEAMS_DSN", "path": "PGTEAMS_SERVE_PATH",
               "openid_metadata_url": "PGTEAMS_OPENID_METADATA_URL", "issuer": "PGTEAMS_BOT_ISSUER",
               "ca_file": "PGTEAMS_CA_FILE"}
        values: dict[str, Any] = {k: os.environ[v] for k, v in env.items() if os.environ.get(v)}
        if os.environ.get("PGTEAMS_JWT_LEEWAY"):
            values["leeway_seconds"] = float(os.environ["PGTEAMS_JWT_LEEWAY"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("dsn"):
            raise ValueError("a database is needed: pass --dsn or set PGTEAMS_DSN")
        settings = cls(**values)
        if not settings.path.startswith("/"):
            raise ValueError("path must start with /")
        if not settings.openid_metadata_url.startswith("https://"):
            raise ValueError("openid_metadata_url must be an https:// URL")
        return settings


# ============================================================================== signing keys
class AuthError(Exception):
    """The request is not an authentic Bot Framework activity for a known tenant (→ 401).
    The message is for the log; it never contains the token."""


class KeysUnavailable(Exception):
    """The OpenID metadata or the JWKS could not be fetched (→ 503; nothing is recorded)."""


class BotFrameworkKeys:
    """The Bot Framework signing keys: OpenID metadata → ``jwks_uri`` → keys by ``kid``, cached for
    ``ttl`` seconds; an unknown ``kid`` refetches, at most once per ``refetch_interval``."""

    def __init__(self, metadata_url: str, *, ca_file: Optional[str] = None, ttl: float = 86400.0,
                 refetch_interval: float = 60.0, timeout: float = 10.0) -> None:
        self.metadata_url = metadata_url
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        verify: Any = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._http = httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=ca_file is None,
                                       headers={"User-Agent": "pgteams-serve"})
        self._keys: dict[str, tuple[Any, Optional[list[str]]]] = {}
        self._fetched_at: Optional[float] = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            meta = await self._http.get(self.metadata_url)
            meta.raise_for_status()
            jwks_uri = meta.json()["jwks_uri"]
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
                raise KeysUnavailable("the OpenID metadata has no https jwks_uri")
            resp = await self._http.get(jwks_uri)
            resp.raise_for_status()
            keys: dict[str, tuple[Any, Optional[list[str]]]] = {}
            for jwk in resp.json().get("keys", []):
                if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
                    continue
                try:
                    key = jwt.PyJWK(dict(jwk), algorithm="RS256").key
                except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                    continue
                endorsements = jwk.get("endorsements")
                keys[jwk["kid"]] = (key, list(endorsements) if isinstance(endorsements, list) else None)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise KeysUnavailable(f"signing keys unavailable: {type(exc).__name__}") from None
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("signing keys fetched: %d keys", len(keys))

    async def get(self, kid: str) -> Optional[tuple[Any, Optional[list[str]]]]:
        """(public key, endorsements or None) for ``kid``, or None when no such key is published."""
        now = time.monotonic()
        fresh = self._fetched_at is not None and now - self._fetched_at < self.ttl
        if fresh and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            now = time.monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            if age is None or age >= self.ttl or (kid not in self._keys and age >= self.refetch_interval):
                await self._fetch()
            return self._keys.get(kid)


# ============================================================================ authentication
@dataclass(frozen=True)
class Authenticated:
    tenant: str
    bot_app_id: str
    claims: dict[str, Any] = field(repr=False)


def _aad_tenant(activity: dict[str, Any]) -> Optional[str]:
    conv = activity.get("conversation")
    tid = conv.get("tenantId") if isinstance(conv, dict) else None
    if not tid:
        cd = activity.get("channelData")
        tenant = cd.get("tenant") if isinstance(cd, dict) else None
        tid = tenant.get("id") if isinstance(tenant, dict) else None
    return tid if isinstance(tid, str) and tid else None


def _same_service_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


async def _verify_token(settings: ServeSettings, keys: BotFrameworkKeys, token: str,
                        activity: dict[str, Any]) -> dict[str, Any]:
    """Signature, algorithm, issuer, expiry, endorsement and serviceUrl. Returns the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("not a JWT") from None
    if header.get("alg") != "RS256":
        raise AuthError(f"algorithm {header.get('alg')!r} is not RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthError("no kid")
    found = await keys.get(kid)
    if found is None:
        raise AuthError("signed with an unknown key")
    key, endorsements = found
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=settings.issuer,
                            leeway=settings.leeway_seconds,
                            options={"require": ["exp", "iss", "aud"], "verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise AuthError("expired") from None
    except jwt.InvalidIssuerError:
        raise AuthError("wrong issuer") from None
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token ({type(exc).__name__})") from None
    if endorsements is not None and activity.get("channelId") not in endorsements:
        raise AuthError("the signing key is not endorsed for this channel")
    claimed = next((claims[c] for c in SERVICE_URL_CLAIMS if isinstance(claims.get(c), str)), None)
    service_url = activity.get("serviceUrl")
    if claimed is None or not isinstance(service_url, str) or not _same_service_url(claimed, service_url):
        raise AuthError("serviceUrl does not match the token")
    return claims


# =================================================================================== the app
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
        claims = await _verify_token(settings, keys, token, activity)
        aad = _aad_tenant(activity)
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


# ============================================================================ running it
class BackgroundServer:
    """Serve an ASGI app with uvicorn in a thread on 127.0.0.1 (tests, examples, embedding).

    ``port=0`` picks a free port; ``url`` is known once constructed. ``start()`` returns once the
    app's lifespan has started (the database pool is open) and the socket listens."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        scheme = "https" if uvicorn_options.get("ssl_certfile") else "http"
        self.url = f"{scheme}://{self.host}:{self.port}"
        ready = threading.Event()
        self._ready = ready

        class _Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                ready.set()

        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", server_header=False,
                                **uvicorn_options)
        self._server = _Server(config)
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> "BackgroundServer":
        self._thread = threading.Thread(target=self._run, name=f"pgteams-serve:{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if not self._server.started:
            self._thread.join()
            raise RuntimeError(f"pgteams serve failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
            self._thread = None
        self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _serve_command() -> Any:
    import click

    @click.command("serve")
    @click.option("--dsn", envvar="PGTEAMS_DSN", required=True,
                  help="Database (a login that is a member of msteams_app).")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", type=int, default=3978, show_default=True, help="Port (0: any free port).")
    @click.option("--path", envvar="PGTEAMS_SERVE_PATH", default="/api/messages", show_default=True,
                  help="The bot messaging endpoint path.")
    @click.option("--openid-metadata-url", envvar="PGTEAMS_OPENID_METADATA_URL",
                  default=DEFAULT_OPENID_METADATA_URL, show_default=True,
                  help="Bot Framework OpenID metadata (signing keys).")
    @click.option("--issuer", envvar="PGTEAMS_BOT_ISSUER", default=DEFAULT_ISSUER, show_default=True,
                  help="The issuer inbound tokens must have.")
    @click.option("--leeway", type=float, default=300.0, show_default=True, help="Clock skew allowed, seconds.")
    @click.option("--ca-file", envvar="PGTEAMS_CA_FILE", help="Trust this CA for the metadata (e.g. the sandbox's).")
    @click.option("--pool-size", type=int, default=10, show_default=True, help="Database connections at most.")
    @click.option("--ssl-certfile", help="Serve HTTPS with this certificate (else put TLS in front).")
    @click.option("--ssl-keyfile", help="Its private key.")
    @click.option("--log-level", default="INFO", show_default=True)
    def serve_command(dsn: str, host: str, port: int, path: str, openid_metadata_url: str, issuer: str,
                      leeway: float, ca_file: Optional[str], pool_size: int, ssl_certfile: Optional[str],
                      ssl_keyfile: Optional[str], log_level: str) -> None:
        """Receive Teams activities: verify the Bot Framework JWT, capture conversation references,
        record card actions (acknowledge, escalate, retry, discard) and answer with the updated card."""
        import uvicorn

        logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        try:
            settings = ServeSettings.from_env(dsn=dsn, path=path, openid_metadata_url=openid_metadata_url,
                                              issuer=issuer, leeway_seconds=leeway, ca_file=ca_file,
                                              pool_max_size=pool_size)
        except (ValueError, TypeError) as exc:
            raise click.ClickException(str(exc)) from None
        app = build_app(settings)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False,
                    ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level=log_level.lower())

    return serve_command


#: The click command the main CLI registers (``main.add_command(serve_command)``).
serve_command = _serve_command()
