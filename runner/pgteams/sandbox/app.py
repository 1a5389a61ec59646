"""The sandbox's ASGI application (Starlette): Microsoft's endpoints + control.

Handlers are O(1): a few dict look-ups under one lock, a deque per rate-limit
window, one JSON parse. Nothing touches the disk per request.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import time
from typing import Any, Optional
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import hashes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import errors as E
from .faults import DEFAULT_DELAY, DEFAULT_STATUS, Fault
from .limits import (
    MICROSOFT_LIMITS,
    format_retry_after,
)
from .botframework import BotFramework
from .graph import Graph
from .plumbing import Runtime
from .state import BOTFRAMEWORK, BOTFRAMEWORK_TENANT, GRAPH, State, Token
from .tls import b64url
from .workflows import Workflows

__all__ = ["build_app"]

JSON = "application/json; charset=utf-8"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

SCOPE_RESOURCES = {
    "https://graph.microsoft.com": GRAPH,
    "graph.microsoft.com": GRAPH,
    "00000003-0000-0000-c000-000000000000": GRAPH,
    "https://api.botframework.com": BOTFRAMEWORK,
    "api.botframework.com": BOTFRAMEWORK,
}
RESERVED_SCOPES = {"openid", "profile", "offline_access"}

_W = {name: limit.windows for name, limit in MICROSOFT_LIMITS.items()}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _fmt_seconds(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


class _Ctx:
    __slots__ = (
        "kind", "method", "path", "t0", "wall", "client_request_id", "token", "token_problem",
        "token_tenant", "token_client", "token_audience", "target_tenant", "cross_tenant",
        "destination", "body", "fault",
    )

    def __init__(self, kind: str, request: Request):
        self.kind = kind
        self.method = request.method
        self.path = request.scope["path"]  # no query string, ever
        self.t0 = time.monotonic()
        self.wall = time.time()
        self.client_request_id = request.headers.get("client-request-id")
        self.token: Optional[Token] = None
        self.token_problem: Optional[str] = None
        self.token_tenant: Optional[str] = None
        self.token_client: Optional[str] = None
        self.token_audience: Optional[str] = None
        self.target_tenant: Optional[str] = None
        self.cross_tenant = False
        self.destination: Optional[str] = None
        self.body: Any = None
        self.fault: Optional[str] = None


def build_app(state: State, runtime: Runtime, materials: Any) -> Starlette:
    S = state
    graph = Graph(state, runtime, materials)
    bot = BotFramework(state, runtime, materials)
    workflows = Workflows(state, runtime, materials)

    # ------------------------------------------------------------- plumbing
    def finish(
        ctx: _Ctx,
        status: int,
        content: bytes = b"",
        headers: Optional[dict[str, str]] = None,
        *,
        error_code: Optional[str] = None,
        response_id: Optional[str] = None,
        media_type: Optional[str] = JSON,
    ) -> Response:
        headers = headers or {}
        S.record(
            monotonic=ctx.t0,
            wall_time=ctx.wall,
            kind=ctx.kind,
            method=ctx.method,
            path=ctx.path,
            status=status,
            token_tenant=ctx.token_tenant,
            token_client=ctx.token_client,
            token_audience=ctx.token_audience,
            target_tenant=ctx.target_tenant,
            cross_tenant=ctx.cross_tenant,
            destination=ctx.destination,
            body=ctx.body,
            client_request_id=ctx.client_request_id,
            fault=ctx.fault,
            error_code=error_code,
            retry_after=headers.get("Retry-After"),
            response_id=response_id,
        )
        if not content:
            media_type = None
        return Response(content, status_code=status, headers=headers, media_type=media_type)

    def resolve_token(ctx: _Ctx, request: Request) -> None:
        auth = request.headers.get("authorization")
        if not auth:
            ctx.token_problem = "missing"
            return
        scheme, _, tok = auth.partition(" ")
        tok = tok.strip()
        if scheme.lower() != "bearer" or not tok:
            ctx.token_problem = "malformed"
            return
        with S.lock:
            info = S.tokens.get(tok)
        if info is None:
            ctx.token_problem = "unknown"
            return
        ctx.token = info
        ctx.token_tenant, ctx.token_client, ctx.token_audience = info.tenant, info.client_id, info.audience
        if info.expires_at <= time.monotonic():
            ctx.token_problem = "expired"

    def limit(checks: list[tuple[Any, Any]]) -> float:
        if not S.enforce_limits:
            return 0.0
        with S.lock:
            return S.limiter.acquire(checks, time.monotonic())

    async def hold(seconds: float) -> None:
        ev = runtime.stop_event
        if ev is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(ev.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    # --- per-endpoint answers ----------------------------------------------
    def token_answer(ctx: _Ctx, status: int, obj: dict[str, Any], extra: Optional[dict[str, str]] = None) -> Response:
        headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        if ctx.client_request_id:
            headers["client-request-id"] = ctx.client_request_id
        if extra:
            headers.update(extra)
        return finish(ctx, status, _dumps(obj), headers, error_code=obj.get("error"))

    def status_answer(ctx: _Ctx, endpoint: str, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        """A Microsoft-shaped answer with just a status (faults, limits)."""
        return token_answer(ctx, status, E.aad_status_error(status, ctx.client_request_id), extra)

    async def apply_fault(ctx: _Ctx, endpoint: str) -> Optional[Response]:
        """Answer from an injected fault, or return None to answer normally."""
        now = time.monotonic()
        with S.lock:
            m = S.faults.match(endpoint, (ctx.token_tenant, ctx.target_tenant), ctx.destination, now)
        if m is None:
            return None
        fid, f, left = m
        ctx.fault = fid
        S.notify()  # lets wait_for() see the fault's hit count change
        kind = f.kind
        if kind == "slow":
            await hold(DEFAULT_DELAY["slow"] if f.delay is None else float(f.delay))
            return None
        if kind == "timeout":
            await hold(DEFAULT_DELAY["timeout"] if f.delay is None else float(f.delay))
            return status_answer(ctx, endpoint, f.status or DEFAULT_STATUS["timeout"])
        if kind == "throttle":
            if f.retry_after is not None:
                ra = _fmt_seconds(f.retry_after)
            else:
                ra = str(max(1, math.ceil(left))) if left is not None else "1"
            return status_answer(ctx, endpoint, f.status or 429, {"Retry-After": ra})
        if kind in ("server_error", "token_error"):
            extra = {"Retry-After": _fmt_seconds(f.retry_after)} if f.retry_after is not None else None
            return status_answer(ctx, endpoint, f.status or DEFAULT_STATUS[kind], extra)
        raise AssertionError(kind)  # pragma: no cover

    def parse_json(raw: bytes) -> tuple[bool, Any]:
        if not raw:
            return False, None
        try:
            return True, json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return False, None

    # =============================================================== login
    def tenant_known(tenant: str) -> bool:
        with S.lock:
            return tenant in S.tenants or tenant.lower() == BOTFRAMEWORK_TENANT

    def aad_unknown_tenant(tenant: str, ctx: Optional[_Ctx] = None, status: int = 400,
                           error: str = "invalid_tenant") -> dict[str, Any]:
        return E.aad_error(
            error, 90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud. Check with your subscription administrator, this may "
            "happen if there are no active subscriptions for the tenant.",
            correlation_id=ctx.client_request_id if ctx else None,
        )

    async def discovery(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        ctx = _Ctx("discovery", request)
        ctx.target_tenant = tenant if tenant_known(tenant) else None
        if ctx.target_tenant is None:
            return finish(ctx, 400, _dumps(aad_unknown_tenant(tenant, ctx)), error_code="invalid_tenant")
        base = f"{S.base_url}/{tenant}"
        doc = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{S.base_url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp", "roles"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "pgteams-sandbox",
        }
        return finish(ctx, 200, _dumps(doc))

    async def jwks(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        ctx = _Ctx("discovery", request)
        ctx.target_tenant = tenant if tenant_known(tenant) else None
        if ctx.target_tenant is None:
            return finish(ctx, 400, _dumps(aad_unknown_tenant(tenant, ctx)), error_code="invalid_tenant")
        return finish(ctx, 200, _dumps({"keys": [materials.jwk]}))

    async def botframework_openid(request: Request) -> Response:
        ctx = _Ctx("discovery", request)
        doc = {
            "issuer": "https://api.botframework.com",
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{S.base_url}/botframework/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
        return finish(ctx, 200, _dumps(doc))

    async def botframework_keys(request: Request) -> Response:
        ctx = _Ctx("discovery", request)
        key = dict(materials.jwk)
        key["endorsements"] = ["msteams"]
        return finish(ctx, 200, _dumps({"keys": [key]}))

    def verify_assertion(client: Any, assertion: str, tenant: str) -> Optional[tuple[int, str]]:
        """None if the client assertion is valid, else (AADSTS code, message)."""
        if not client.certificates:
            return 700027, "Client assertion failed signature validation (no certificate is registered)."
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return 50027, "JWT token is invalid or malformed."
        certs = client.certificates
        x5t = str(header.get("x5t") or "").rstrip("=")  # msal keeps base64 padding
        x5t256 = str(header.get("x5t#S256") or "").rstrip("=")
        if x5t or x5t256:
            certs = [
                c for c in certs
                if b64url(c.fingerprint(hashes.SHA1())) == x5t or b64url(c.fingerprint(hashes.SHA256())) == x5t256
            ]
            if not certs:
                return 700027, (
                    f"The certificate with identifier used to sign the client assertion is not registered on "
                    f"application '{client.client_id}'."
                )
        audience = f"{S.base_url}/{tenant}/oauth2/v2.0/token"
        last = "Client assertion failed signature validation."
        for cert in certs:
            try:
                claims = jwt.decode(
                    assertion,
                    cert.public_key(),
                    algorithms=["RS256", "PS256"],
                    audience=[audience, f"{S.base_url}/{tenant}/oauth2/token"],
                    options={"require": ["exp", "iss", "sub", "aud"]},
                    leeway=300,
                )
            except jwt.ExpiredSignatureError:
                return 700024, "Client assertion is not within its valid time range."
            except jwt.InvalidAudienceError:
                return 700021, f"Client assertion audience claim does not match Realm issuer. Expected '{audience}'."
            except jwt.PyJWTError as exc:
                last = f"Client assertion failed signature validation ({exc})."
                continue
            if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
                return 700023, "Client assertion issuer and subject must both be the client id."
            return None
        return 700027, last

    async def token(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        ctx = _Ctx("token", request)
        raw = await request.body()
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        ctx.body = {k: ("<redacted>" if k in ("client_secret", "client_assertion") else v) for k, v in form.items()}
        client_id = form.get("client_id") or None
        ctx.destination = client_id
        is_bf = tenant.lower() == BOTFRAMEWORK_TENANT
        known = tenant_known(tenant)
        ctx.target_tenant = tenant if known else None
        ctx.token_tenant = tenant if known else None
        ctx.token_client = client_id

        def err(status: int, error: str, code: int, desc: str) -> Response:
            return token_answer(ctx, status, E.aad_error(error, code, desc, correlation_id=ctx.client_request_id))

        faulted = await apply_fault(ctx, "token")
        if faulted is not None:
            return faulted
        if not known:
            return token_answer(ctx, 400, aad_unknown_tenant(tenant, ctx, error="invalid_request"))
        grant = form.get("grant_type")
        if not grant:
            return err(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        if grant != "client_credentials":
            return err(400, "unsupported_grant_type", 70003,
                       f"The app requested an unsupported grant type '{grant}'. The sandbox serves client_credentials only.")
        if not client_id:
            return err(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        with S.lock:
            if is_bf:
                client = next((c for c in S.clients.values() if c.bot and c.client_id == client_id), None)
            else:
                client = S.clients.get((tenant, client_id))
        if client is None:
            return err(400, "unauthorized_client", 700016,
                       f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                       "This can happen if the application has not been installed by the administrator of the "
                       "tenant or consented to by any user in the tenant. You may have sent your authentication "
                       "request to the wrong tenant.")
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is not None:
            if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in client.secrets):
                return err(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request is the "
                           f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.")
        elif assertion is not None:
            if form.get("client_assertion_type") != JWT_BEARER:
                return err(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_assertion_type'.")
            problem = verify_assertion(client, assertion, tenant)
            if problem is not None:
                return err(401, "invalid_client", problem[0], problem[1])
        else:
            return err(401, "invalid_client", 7000218,
                       "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        scope = form.get("scope", "")
        scopes = [s for s in scope.split() if s not in RESERVED_SCOPES]
        if not scopes:
            return err(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
        audience = None
        for s in scopes:
            if not s.endswith("/.default"):
                return err(400, "invalid_scope", 1002012,
                           f"The provided value for scope {s} is not valid. Client credential flows must have a "
                           "scope value with /.default suffixed to the resource identifier (application ID URI).")
            resource = s[: -len("/.default")].rstrip("/")
            aud = SCOPE_RESOURCES.get(resource) or SCOPE_RESOURCES.get(resource.lower())
            if aud is None:
                return err(400, "invalid_resource", 500011,
                           f"The resource principal named {resource} was not found in the tenant named {tenant}. "
                           "This can happen if the application has not been installed by the administrator of the "
                           "tenant or consented to by any user in the tenant.")
            if audience is not None and aud != audience:
                return err(400, "invalid_scope", 70011,
                           "The provided request must include scopes of one resource only.")
            audience = aud
        if is_bf and audience != BOTFRAMEWORK:
            return err(400, "invalid_resource", 500011,
                       f"The resource principal named {resource} was not found in the tenant named {tenant}.")
        tok, lifetime = S.issue_token(tenant, client_id, audience)
        ctx.token_audience = audience
        return token_answer(
            ctx, 200,
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": tok},
        )

    # ============================================================ control
    def cjson(obj: Any, status: int = 200) -> Response:
        return Response(_dumps(obj), status_code=status, media_type=JSON)

    async def cbody(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def control(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except KeyError as exc:
                return cjson({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
            except (ValueError, TypeError) as exc:
                return cjson({"error": str(exc)}, 400)
        return endpoint

    def settings() -> dict[str, str]:
        return {
            "login_authority_host": S.base_url,
            "graph_base": graph.base,
            "bot_scope": bot.scope,
            "graph_scope": graph.scope,
            "ca_file": str(materials.ca_file),
        }

    async def c_info(request: Request) -> Response:
        with S.lock:
            counts = {
                "tenants": len(S.tenants), "users": len(S.users), "chats": len(S.chats), "teams": len(S.teams),
                "conversations": len(S.conversations), "webhooks": len(S.webhooks),
            }
        return cjson({"url": S.base_url, "ca_file": str(materials.ca_file), "settings": settings(),
                      "enforce_limits": S.enforce_limits, "token_lifetime": S.token_lifetime, "counts": counts})

    async def c_settings(request: Request) -> Response:
        return cjson(settings())

    async def c_ca(request: Request) -> Response:
        return Response(materials.ca_file.read_bytes(), media_type="application/x-pem-file")

    async def c_tenants(request: Request) -> Response:
        S.add_tenant(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_users(request: Request) -> Response:
        S.add_user(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_chats(request: Request) -> Response:
        S.add_chat(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_teams(request: Request) -> Response:
        S.add_team(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_conversations(request: Request) -> Response:
        return cjson({"service_url": S.add_conversation(**await cbody(request))}, 201)

    async def c_conversation_delete(request: Request) -> Response:
        S.remove_conversation(request.path_params["conversation_id"])
        return cjson({"ok": True})

    async def c_bot_add(request: Request) -> Response:
        data = await cbody(request)
        S.add_bot(request.path_params["conversation_id"], data["bot_app_id"])
        return cjson({"ok": True})

    async def c_bot_remove(request: Request) -> Response:
        S.remove_bot(request.path_params["conversation_id"], request.path_params["bot_app_id"])
        return cjson({"ok": True})

    async def c_block(request: Request) -> Response:
        data = await cbody(request)
        S.block_conversation(request.path_params["conversation_id"], bool(data.get("blocked", True)))
        return cjson({"ok": True})

    async def c_webhooks(request: Request) -> Response:
        if request.method == "GET":
            return cjson({"webhooks": S.list_webhooks()})
        url = S.add_webhook(**await cbody(request))
        return cjson({"url": url}, 201)

    async def c_webhook_delete(request: Request) -> Response:
        S.remove_webhook(request.path_params["webhook_id"])
        return cjson({"ok": True})

    async def c_faults(request: Request) -> Response:
        if request.method == "GET":
            return cjson({"faults": S.list_faults()})
        if request.method == "DELETE":
            S.clear_faults()
            return cjson({"ok": True})
        return cjson({"fault_id": S.add_fault(Fault(**await cbody(request)))}, 201)

    async def c_fault_delete(request: Request) -> Response:
        if not S.remove_fault(request.path_params["fault_id"]):
            raise KeyError(f"unknown fault {request.path_params['fault_id']!r}")
        return cjson({"ok": True})

    async def c_requests(request: Request) -> Response:
        if request.method == "DELETE":
            S.reset_records()
            return cjson({"ok": True})
        q = request.query_params
        since = int(q.get("since", "0"))
        kind = q.get("kind")
        recs = [r for r in S.snapshot() if r.seq > since and (kind is None or r.kind == kind)]
        if "limit" in q:
            recs = recs[: int(q["limit"])]
        last = recs[-1].seq if recs else since
        return cjson({"requests": [r.to_dict() for r in recs], "last_seq": last})

    async def c_limits(request: Request) -> Response:
        data = await cbody(request) if request.method == "POST" else {}
        if "enforce" in data:
            S.enforce_limits = bool(data["enforce"])
        if data.get("reset"):
            S.reset_limits()
        return cjson({
            "enforce_limits": S.enforce_limits,
            "limits": {
                name: {"windows": [list(w) for w in lim.windows], "per": lim.per, "applies_to": lim.applies_to,
                       "source": lim.source, "enforced": lim.enforced, "note": lim.note}
                for name, lim in MICROSOFT_LIMITS.items()
            },
        })

    async def c_revoke(request: Request) -> Response:
        data = await cbody(request)
        return cjson({"revoked": S.revoke_tokens(data.get("tenant"), data.get("client_id"))})

    async def c_reset(request: Request) -> Response:
        S.reset()
        return cjson({"ok": True})

    async def c_config(request: Request) -> Response:
        return cjson(S.load_config(await cbody(request)), 201)

    control_routes = [
        Route("/", control(c_info), methods=["GET"]),
        Route("/settings", control(c_settings), methods=["GET"]),
        Route("/ca.pem", control(c_ca), methods=["GET"]),
        Route("/tenants", control(c_tenants), methods=["POST"]),
        Route("/users", control(c_users), methods=["POST"]),
        Route("/chats", control(c_chats), methods=["POST"]),
        Route("/teams", control(c_teams), methods=["POST"]),
        Route("/conversations", control(c_conversations), methods=["POST"]),
        Route("/conversations/{conversation_id}", control(c_conversation_delete), methods=["DELETE"]),
        Route("/conversations/{conversation_id}/bots", control(c_bot_add), methods=["POST"]),
        Route("/conversations/{conversation_id}/bots/{bot_app_id}", control(c_bot_remove), methods=["DELETE"]),
        Route("/conversations/{conversation_id}/block", control(c_block), methods=["POST"]),
        Route("/webhooks", control(c_webhooks), methods=["GET", "POST"]),
        Route("/webhooks/{webhook_id}", control(c_webhook_delete), methods=["DELETE"]),
        Route("/faults", control(c_faults), methods=["GET", "POST", "DELETE"]),
        Route("/faults/{fault_id}", control(c_fault_delete), methods=["DELETE"]),
        Route("/requests", control(c_requests), methods=["GET", "DELETE"]),
        Route("/limits", control(c_limits), methods=["GET", "POST"]),
        Route("/tokens/revoke", control(c_revoke), methods=["POST"]),
        Route("/reset", control(c_reset), methods=["POST"]),
        Route("/config", control(c_config), methods=["POST"]),
    ]

    routes = [
        # Microsoft Graph
        Mount(graph.prefix, routes=graph.routes()),
        # Bot Framework connector
        Mount(bot.prefix, routes=bot.routes()),
        # Workflows webhooks
        Mount(workflows.prefix, routes=workflows.routes()),
        # Control
        Mount("/_sandbox", routes=control_routes),
        # Bot Framework's own OpenID metadata (for signing inbound activities)
        Route("/botframework/v1/.well-known/openidconfiguration", botframework_openid, methods=["GET"]),
        Route("/botframework/v1/.well-known/keys", botframework_keys, methods=["GET"]),
        # Entra ID login
        Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", jwks, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.settings = settings
    return app
