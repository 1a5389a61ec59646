"""Tokens, always with the delivering tenant's own credentials.

One msal ConfidentialClientApplication per (authority tenant, client id, credential reference),
each with its own token cache. The only way to get a token is TokenProvider.token(key, scope)
with the key built from the delivery's own Claim (see CredentialKey.graph / .bot): no code
path picks credentials by anything else — sending with another organisation's bot credentials is
what produces HTTP 403 BotNotInConversationRoster.

msal is synchronous and talks to the authority in its constructor, so apps are built and tokens
acquired in a worker thread. A token is reused from memory until five minutes before it expires
(msal's own rule), which spares a thread hop per send.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

import msal
import requests

from . import credentials
from .claim import Claim
from .config import Settings

REFRESH_MARGIN = 300.0   # seconds: msal treats a token with less left as expired
REFUSAL_MEMORY = 60.0    # seconds a refused or unresolvable credential is answered from memory


class TokenError(Exception):
    """No token. `code` is an error taxonomy code; the message never holds a secret or a token."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CredentialKey:
    authority_tenant: str
    client_id: str
    credential_ref: str

    @classmethod
    def graph(cls, claim: Claim) -> "CredentialKey":
        """The Graph credential of the tenant in a Claim."""
        return cls(claim.aad_tenant_id, claim.client_id, claim.credential_ref)

    @classmethod
    def bot(cls, claim: Claim) -> "CredentialKey":
        """The bot credential of the tenant in a Claim (single-tenant bot in the tenant's own directory)."""
        return cls(claim.aad_tenant_id, claim.bot_app_id, claim.bot_credential_ref or claim.credential_ref)


class TokenProvider:
    def __init__(self, settings: Settings, *, on_token: Callable[[str], None] | None = None) -> None:
        self._settings = settings
        self._apps: dict[CredentialKey, msal.ConfidentialClientApplication] = {}
        self._locks: dict[CredentialKey, asyncio.Lock] = {}
        self._memo: dict[tuple[CredentialKey, str], tuple[str, float]] = {}
        # A credential the authority refused (or that cannot be resolved) stays refused for a while:
        # every delivery of that tenant fails the same way without asking again (msal itself
        # replays a 400 for 60 s too).
        self._refused: dict[tuple[CredentialKey, str], tuple[TokenError, float]] = {}
        self._on_token = on_token or (lambda source: None)   # metrics: "memory" | "cache" | "identity_provider"
        session = requests.Session()
        session.trust_env = False          # REQUESTS_CA_BUNDLE would silently override verify=
        session.verify = settings.ca_file or True
        if settings.https_proxy:
            session.proxies = {"https": settings.https_proxy}
        self._session = session

    def _build(self, key: CredentialKey) -> msal.ConfidentialClientApplication:
        try:
            secret = credentials.resolve(key.credential_ref)
        except credentials.CredentialUnavailable as exc:
            raise TokenError("credentials_unavailable", str(exc)) from None
        authority = f"{self._settings.login_authority_host.rstrip('/')}/{key.authority_tenant}"
        try:
            return msal.ConfidentialClientApplication(
                key.client_id, client_credential=secret, authority=authority,
                http_client=self._session, instance_discovery=False, timeout=self._settings.http_timeout)
        except ValueError as exc:           # the authority answered discovery with a 4xx: unknown tenant
            raise TokenError("credentials_invalid", f"the login authority does not know tenant {key.authority_tenant}"
                             if "authority" in str(exc).lower() else "msal refused the credential") from None
        except requests.RequestException as exc:
            raise TokenError("transient", f"login authority unreachable ({type(exc).__name__})") from None

    async def token(self, key: CredentialKey, scope: str) -> str:
        refused = self._refused.get((key, scope))
        if refused and refused[1] > time.monotonic():
            raise refused[0]
        try:
            return await self._token(key, scope)
        except TokenError as exc:
            if exc.code in ("credentials_invalid", "credentials_unavailable"):
                self._refused[(key, scope)] = (exc, time.monotonic() + REFUSAL_MEMORY)
            raise

    async def _token(self, key: CredentialKey, scope: str) -> str:
        memo = self._memo.get((key, scope))
        if memo and memo[1] - time.monotonic() > REFRESH_MARGIN:
            self._on_token("memory")
            return memo[0]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:                    # one acquisition per credential at a time
            memo = self._memo.get((key, scope))
            if memo and memo[1] - time.monotonic() > REFRESH_MARGIN:
                self._on_token("memory")
                return memo[0]
            app = self._apps.get(key)
            if app is None:
                app = await asyncio.to_thread(self._build, key)
                self._apps[key] = app
            try:
                result = await asyncio.to_thread(app.acquire_token_for_client, scopes=[scope])
            except requests.RequestException as exc:
                raise TokenError("transient", f"login authority unreachable ({type(exc).__name__})") from None
            except Exception as exc:        # msal raises on 5xx answers of the token endpoint
                raise TokenError("transient", f"login authority error ({type(exc).__name__})") from None
        if "access_token" not in result:
            error = str(result.get("error") or "unknown_error")[:64]
            codes = result.get("error_codes") or []
            detail = f" (AADSTS{codes[0]})" if codes else ""
            if error in ("temporarily_unavailable", "server_error"):
                raise TokenError("transient", f"login authority answered {error}{detail}")
            raise TokenError("credentials_invalid", f"login authority refused the credentials: {error}{detail}")
        self._on_token(str(result.get("token_source") or "identity_provider"))
        expires_in = float(result.get("expires_in") or 0)
        self._memo[(key, scope)] = (result["access_token"], time.monotonic() + expires_in)
        return result["access_token"]
