"""Entra ID login (msal's client-credentials flow) and the OpenID metadata that signs tokens.

Served at the root, like ``login.microsoftonline.com``: the discovery document, the JWKS and the
token endpoint of each tenant (plus ``botframework.com``, the legacy multi-tenant bot authority),
and the Bot Framework's own OpenID metadata (``login.botframework.com``) that inbound activities
are verified with. Token errors carry Entra ID's full shape (TEAMS_FACTS §4).
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import hashes
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .plumbing import Ctx, Surface, dumps
from .state import BOTFRAMEWORK, BOTFRAMEWORK_TENANT, GRAPH, Client
from .tls import b64url

__all__ = ["Login"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: resource of a ``{resource}/.default`` scope -> the audience of the token issued for it
SCOPE_RESOURCES = {
    "https://graph.microsoft.com": GRAPH,
    "graph.microsoft.com": GRAPH,
    "00000003-0000-0000-c000-000000000000": GRAPH,
    "https://api.botframework.com": BOTFRAMEWORK,
    "api.botframework.com": BOTFRAMEWORK,
}
RESERVED_SCOPES = {"openid", "profile", "offline_access"}

# --- error bodies ----------------------------------------------------------------


def aad_error(error: str, code: int, description: str, *, correlation_id: Optional[str] = None) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


STATUS_ERRORS = {
    # status -> (error, AADSTS code, description) for injected token faults
    400: ("invalid_request", 900144, "The request is not valid (sandbox fault)."),
    401: ("invalid_client", 7000215, "Invalid client secret provided (sandbox fault)."),
    429: ("temporarily_unavailable", 90055, "The tenant is being throttled (sandbox fault)."),
    500: ("server_error", 90033, "A transient error has occurred. Please try again (sandbox fault)."),
    503: ("temporarily_unavailable", 90033, "A transient error has occurred. Please try again (sandbox fault)."),
    504: ("temporarily_unavailable", 90033, "The request timed out (sandbox fault)."),
}


def unknown_tenant(tenant: str, ctx: Ctx, error: str = "invalid_tenant") -> dict[str, Any]:
    return aad_error(
        error, 90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
        correlation_id=ctx.client_request_id,
    )


class Login(Surface):
    kind = "token"  # the discovery documents and keys are recorded as "discovery"

    def routes(self) -> list[BaseRoute]:
        return [
            # Bot Framework's own OpenID metadata (for signing inbound activities)
            Route("/botframework/v1/.well-known/openidconfiguration", self.botframework_openid, methods=["GET"]),
            Route("/botframework/v1/.well-known/keys", self.botframework_keys, methods=["GET"]),
            # Entra ID, per tenant
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery, methods=["GET"]),
            Route("/{tenant}/discovery/v2.0/keys", self.jwks, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
        ]

    # --------------------------------------------------------------- dialect
    def answer(self, ctx: Ctx, status: int, obj: dict[str, Any], extra: Optional[dict[str, str]] = None) -> Response:
        headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        if ctx.client_request_id:
            headers["client-request-id"] = ctx.client_request_id
        if extra:
            headers.update(extra)
        return self.finish(ctx, status, dumps(obj), headers, error_code=obj.get("error"))

    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        error, code, desc = STATUS_ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request", 90033, f"HTTP {status} (sandbox fault).")
        )
        return self.answer(ctx, status, aad_error(error, code, desc, correlation_id=ctx.client_request_id), extra)

    def tenant_known(self, tenant: str) -> bool:
        with self.state.lock:
            return tenant in self.state.tenants or tenant.lower() == BOTFRAMEWORK_TENANT

    # --------------------------------------------------------------- discovery
    async def discovery(self, request: Request) -> Response:
        return self.tenant_document(request, self.discovery_document)

    async def jwks(self, request: Request) -> Response:
        return self.tenant_document(request, lambda tenant: {"keys": [self.materials.jwk]})

    def tenant_document(self, request: Request, build: Callable[[str], dict[str, Any]]) -> Response:
        """A tenant's discovery document or keys; 400 ``invalid_tenant`` for an unknown tenant."""
        tenant = request.path_params["tenant"]
        ctx = self.context(request, "discovery")
        ctx.target_tenant = tenant if self.tenant_known(tenant) else None
        if ctx.target_tenant is None:
            return self.finish(ctx, 400, dumps(unknown_tenant(tenant, ctx)), error_code="invalid_tenant")
        return self.finish(ctx, 200, dumps(build(tenant)))

    def discovery_document(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {
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
            "userinfo_endpoint": f"{self.url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp", "roles"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "pgteams-sandbox",
        }

    async def botframework_openid(self, request: Request) -> Response:
        ctx = self.context(request, "discovery")
        doc = {
            "issuer": "https://api.botframework.com",
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{self.url}/botframework/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
        return self.finish(ctx, 200, dumps(doc))

    async def botframework_keys(self, request: Request) -> Response:
        ctx = self.context(request, "discovery")
        key = dict(self.materials.jwk)
        key["endorsements"] = ["msteams"]
        return self.finish(ctx, 200, dumps({"keys": [key]}))

    # --------------------------------------------------------------- token
    def assertion_problem(self, client: Client, assertion: str, tenant: str) -> Optional[tuple[int, str]]:
        """None if the client assertion (a certificate credential) is valid, else (AADSTS code, message)."""
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
        audience = f"{self.url}/{tenant}/oauth2/v2.0/token"
        last = "Client assertion failed signature validation."
        for cert in certs:
            try:
                claims = jwt.decode(
                    assertion,
                    cert.public_key(),
                    algorithms=["RS256", "PS256"],
                    audience=[audience, f"{self.url}/{tenant}/oauth2/token"],
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

    async def token(self, request: Request) -> Response:
        S = self.state
        tenant = request.path_params["tenant"]
        ctx = self.context(request)
        raw = await request.body()
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        ctx.body = {k: ("<redacted>" if k in ("client_secret", "client_assertion") else v) for k, v in form.items()}
        client_id = form.get("client_id") or None
        ctx.destination = client_id
        is_bf = tenant.lower() == BOTFRAMEWORK_TENANT
        known = self.tenant_known(tenant)
        ctx.target_tenant = tenant if known else None
        ctx.token_tenant = tenant if known else None
        ctx.token_client = client_id

        def err(status: int, error: str, code: int, desc: str) -> Response:
            return self.answer(ctx, status, aad_error(error, code, desc, correlation_id=ctx.client_request_id))

        faulted = await self.apply_fault(ctx)
        if faulted is not None:
            return faulted
        if not known:
            return self.answer(ctx, 400, unknown_tenant(tenant, ctx, error="invalid_request"))
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
            problem = self.assertion_problem(client, assertion, tenant)
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
        assert audience is not None
        tok, lifetime = S.issue_token(tenant, client_id, audience)
        ctx.token_audience = audience
        return self.answer(
            ctx, 200,
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": tok},
        )
