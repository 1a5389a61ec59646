"""``pgteams serve`` settings, and the Bot Framework constants it checks against."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_ISSUER = "https://api.botframework.com"


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
