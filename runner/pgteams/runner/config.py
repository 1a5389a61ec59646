"""Runner settings: flags and PGTEAMS_* environment variables, one dataclass.

Every Microsoft endpoint and the CA bundle is a setting, so the sandbox can stand in for
Microsoft over HTTPS on loopback while msal and httpx run unmodified.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit
from dataclasses import dataclass, field

# Microsoft's connector hosts a bot token may be sent to (TEAMS_FACTS §2: public cloud regions
# under smba.trafficmanager.net, GCC and GCC High). serviceUrl comes from inbound traffic: any
# other host is refused with destination_not_allowed and never sees a token.
DEFAULT_SERVICE_URL_HOSTS = (
    "smba.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
)
# Hosts a Workflows / connector webhook may live on (TEAMS_FACTS §3); a leading dot matches subdomains.
DEFAULT_WEBHOOK_HOSTS = (
    ".logic.azure.com",
    ".environment.api.powerplatform.com",
    ".webhook.office.com",
    "outlook.office.com",
    "outlook.office365.com",
)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"PGTEAMS_{name}", default)


def _split(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(v.strip() for v in value.split(",") if v.strip())


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Settings:
    dsn: str
    worker_id: str = field(default_factory=default_worker_id)
    # claiming and sending
    batch_size: int = 100                 # deliveries per claim
    concurrency: int = 64                 # sends in flight at once
    lease_seconds: float = 120.0          # longer than the slowest send (http_timeout) plus throttle waits
    poll_interval: float = 5.0            # fallback when no NOTIFY arrives
    listen: bool = True                   # LISTEN msteams_outbox (a fallback poll covers what it misses)
    pgbouncer: bool = False               # behind a transaction-pooling PgBouncer: no LISTEN, no session
                                          # options, no prepared statements
    shutdown_timeout: float = 20.0        # SIGTERM: how long in-flight sends may take before release
    http_timeout: float = 15.0
    report_batch: int = 200               # outcomes per complete_deliveries call
    # Microsoft endpoints
    login_authority_host: str = "https://login.microsoftonline.com"
    graph_base: str = "https://graph.microsoft.com/v1.0"
    graph_scope: str = "https://graph.microsoft.com/.default"
    bot_scope: str = "https://api.botframework.com/.default"
    ca_file: str | None = None            # trust this CA bundle instead of the default (certifi) one
    https_proxy: str | None = None        # send to Microsoft through this proxy (the environment's is ignored)
    service_url_hosts: tuple[str, ...] = DEFAULT_SERVICE_URL_HOSTS
    webhook_hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    # throttling (Microsoft's published limits; see throttle.py)
    throttle: bool = True
    # operations
    metrics_port: int | None = None       # serve Prometheus /metrics on this port
    maintenance_interval: float = 3600.0  # run ensure_partitions + retention hourly (one runner at a time); 0: never
    statement_timeout_ms: int = 30000

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from PGTEAMS_* environment variables, then explicit overrides (flags)."""
        values: dict = {}
        env_map = {
            "dsn": ("DSN", str), "worker_id": ("WORKER_ID", str), "batch_size": ("BATCH_SIZE", int),
            "concurrency": ("CONCURRENCY", int), "lease_seconds": ("LEASE_SECONDS", float),
            "poll_interval": ("POLL_INTERVAL", float), "shutdown_timeout": ("SHUTDOWN_TIMEOUT", float),
            "http_timeout": ("HTTP_TIMEOUT", float), "login_authority_host": ("LOGIN_AUTHORITY_HOST", str),
            "graph_base": ("GRAPH_BASE", str), "graph_scope": ("GRAPH_SCOPE", str), "bot_scope": ("BOT_SCOPE", str),
            "ca_file": ("CA_FILE", str), "https_proxy": ("HTTPS_PROXY", str), "metrics_port": ("METRICS_PORT", int),
            "maintenance_interval": ("MAINTENANCE_INTERVAL", float),
        }
        for attr, (name, conv) in env_map.items():
            raw = _env(name)
            if raw is not None and raw != "":
                values[attr] = conv(raw)
        if _env("SERVICE_URL_HOSTS") is not None:
            values["service_url_hosts"] = _split(_env("SERVICE_URL_HOSTS"), DEFAULT_SERVICE_URL_HOSTS)
        if _env("WEBHOOK_HOSTS") is not None:
            values["webhook_hosts"] = _split(_env("WEBHOOK_HOSTS"), DEFAULT_WEBHOOK_HOSTS)
        if _env("PGBOUNCER") is not None:
            values["pgbouncer"] = _env("PGBOUNCER", "0").lower() in ("1", "true", "yes", "on")
        if _env("LISTEN") is not None:
            values["listen"] = _env("LISTEN", "1").lower() not in ("0", "false", "no", "off")
        if _env("THROTTLE") is not None:
            values["throttle"] = _env("THROTTLE", "1").lower() not in ("0", "false", "no", "off")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("dsn"):
            raise ValueError("a database is needed: pass --dsn or set PGTEAMS_DSN")
        return cls(**values)

    @classmethod
    def for_sandbox(cls, dsn: str, sandbox_url: str, ca_file: str, **overrides) -> "Settings":
        """Settings that point every Microsoft endpoint at the sandbox (pgteams.sandbox) and allow
        its loopback host for bot and webhook sends; overrides win."""
        host = urlsplit(sandbox_url).hostname
        values = dict(dsn=dsn, login_authority_host=sandbox_url, graph_base=f"{sandbox_url}/graph/v1.0",
                      ca_file=ca_file, service_url_hosts=(host,), webhook_hosts=(host,))
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        checks = [
            ("batch_size", 1 <= self.batch_size <= 1000, "between 1 and 1000"),
            ("concurrency", 1 <= self.concurrency <= 1024, "between 1 and 1024"),
            ("lease_seconds", self.http_timeout < self.lease_seconds <= 3600,
             "longer than http_timeout and at most 3600"),
            ("poll_interval", self.poll_interval > 0, "above 0"),
            ("shutdown_timeout", self.shutdown_timeout >= 0, "0 or more"),
            ("http_timeout", self.http_timeout > 0, "above 0"),
            ("report_batch", 1 <= self.report_batch <= 1000, "between 1 and 1000"),
        ]
        for name, ok, want in checks:
            if not ok:
                raise ValueError(f"{name} {getattr(self, name)} is out of range: it must be {want}")
        if self.pgbouncer:
            self.listen = False


def host_allowed(host: str | None, port: int | None, allowed: tuple[str, ...]) -> bool:
    """Is host (and port) on the allow-list? Entries: 'host', 'host:port', or '.suffix' for subdomains."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower()
        if entry.startswith("."):
            if host.endswith(entry):
                return True
            continue
        name, _, want_port = entry.partition(":")
        if host == name and (not want_port or (port is not None and str(port) == want_port)):
            return True
    return False
