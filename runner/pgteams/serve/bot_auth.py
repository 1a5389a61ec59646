"""Is this request an authentic Bot Framework activity, and for which pgteams tenant's bot?

The signing keys come from the Bot Framework OpenID metadata (cached; an unknown ``kid`` refetches
at most once a minute); the JWT's signature, algorithm, issuer, expiry, endorsement and
``serviceurl`` claim are checked before anything is read from or written to the database.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx
import jwt

from .settings import ServeSettings

log = logging.getLogger("pgteams.serve")

SERVICE_URL_CLAIMS = ("serviceurl", "serviceUrl")   # Bot Framework writes "serviceurl"


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


@dataclass(frozen=True)
class Authenticated:
    tenant: str
    bot_app_id: str
    claims: dict[str, Any] = field(repr=False)


def aad_tenant(activity: dict[str, Any]) -> Optional[str]:
    conv = activity.get("conversation")
    tid = conv.get("tenantId") if isinstance(conv, dict) else None
    if not tid:
        cd = activity.get("channelData")
        tenant = cd.get("tenant") if isinstance(cd, dict) else None
        tid = tenant.get("id") if isinstance(tenant, dict) else None
    return tid if isinstance(tid, str) and tid else None


def _same_service_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


async def verify_token(settings: ServeSettings, keys: BotFrameworkKeys, token: str,
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
