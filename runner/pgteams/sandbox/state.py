"""The sandbox's in-memory world: tenants, clients, tokens, targets, records.

Everything here is synchronous and guarded by one lock, so the Python API
(called from test threads) and the HTTP handlers (running on the sandbox's
event loop) can share it. Every operation is O(1) or O(size of one entry).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

from cryptography import x509

from .faults import Fault, FaultBook
from .limits import SlidingWindowLimiter

__all__ = ["RecordedRequest", "State", "GRAPH", "BOTFRAMEWORK", "BOTFRAMEWORK_TENANT"]

GRAPH = "graph"
BOTFRAMEWORK = "botframework"
#: the legacy multi-tenant bot authority (login.microsoftonline.com/botframework.com)
BOTFRAMEWORK_TENANT = "botframework.com"

CONVERSATION_TYPES = ("personal", "groupChat", "channel")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_WEBHOOK_IN_URL = re.compile(r"/workflows/([0-9a-fA-F]{32})/")
_REGION = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the sandbox answered (see docs/sandbox.md)."""

    seq: int
    monotonic: float  # time.monotonic() at arrival
    wall_time: float  # time.time() at arrival
    kind: str  # token | graph | bot | webhook | discovery | unserved
    method: str
    path: str  # never includes the query string
    status: int
    token_tenant: Optional[str]
    token_client: Optional[str]
    token_audience: Optional[str]  # "graph" | "botframework" | None
    target_tenant: Optional[str]
    cross_tenant: bool
    destination: Optional[str]
    body: Any  # parsed JSON (token requests: the form with secrets redacted)
    client_request_id: Optional[str]
    fault: Optional[str]  # id of the injected fault that answered
    error_code: Optional[str] = None  # Microsoft error code in the answer, if any
    retry_after: Optional[str] = None  # Retry-After header sent, if any
    response_id: Optional[str] = None  # Graph request-id / bot activity id / run id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Client:
    tenant: str
    client_id: str
    secrets: set[str] = field(default_factory=set)
    certificates: list[x509.Certificate] = field(default_factory=list)
    graph: bool = False  # the tenant's Graph app (TeamsActivity.Send granted)
    bot: bool = False  # a registered bot


@dataclass
class Token:
    tenant: str
    client_id: str
    audience: str
    expires_at: float  # monotonic


@dataclass
class Target:
    tenant: str
    id: str
    app_installed: bool = True


@dataclass
class Conversation:
    tenant: str
    id: str
    bot_app_ids: set[str]
    conversation_type: str
    region: str
    blocked: bool = False


@dataclass
class Webhook:
    tenant: str
    id: str
    sig: str


def _req_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _load_cert(pem: Union[str, bytes, x509.Certificate]) -> x509.Certificate:
    if isinstance(pem, x509.Certificate):
        return pem
    if isinstance(pem, str):
        pem = pem.encode()
    return x509.load_pem_x509_certificate(pem)


def webhook_id_of(url_or_id: str) -> str:
    m = _WEBHOOK_IN_URL.search(url_or_id)
    return (m.group(1) if m else url_or_id).lower()


class State:
    def __init__(self, base_url: str, *, enforce_limits: bool, token_lifetime: int, max_records: Optional[int]):
        self.base_url = base_url
        self.lock = threading.RLock()
        self.enforce_limits = enforce_limits
        self.token_lifetime = int(token_lifetime)
        self.tenants: dict[str, dict[str, Any]] = {}
        self.clients: dict[tuple[str, str], Client] = {}
        self.users: dict[str, Target] = {}  # key: lower-cased id / UPN
        self.chats: dict[str, Target] = {}
        self.teams: dict[str, Target] = {}
        self.conversations: dict[str, Conversation] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.tokens: dict[str, Token] = {}
        self.faults = FaultBook()
        self.limiter = SlidingWindowLimiter()
        self._activity_id = 0
        # records
        self.records_cond = threading.Condition(threading.Lock())
        self.records: deque[RecordedRequest] = deque(maxlen=max_records)
        self.records_version = 0
        self._seq = 0

    # ------------------------------------------------------------------ setup
    def add_tenant(
        self,
        aad_tenant_id: str,
        *,
        client_id: str,
        client_secret: Optional[str] = None,
        bot_app_id: Optional[str] = None,
        bot_secret: Optional[str] = None,
        client_certificate: Union[str, bytes, None] = None,
        bot_certificate: Union[str, bytes, None] = None,
    ) -> None:
        tid = _req_str("aad_tenant_id", aad_tenant_id)
        if tid.lower() == BOTFRAMEWORK_TENANT:
            raise ValueError(f"{BOTFRAMEWORK_TENANT!r} is reserved for the legacy multi-tenant bot authority")
        _req_str("client_id", client_id)
        if client_secret is None and client_certificate is None:
            raise ValueError("give client_secret and/or client_certificate")
        graph = Client(tid, client_id, graph=True)
        if client_secret is not None:
            graph.secrets.add(_req_str("client_secret", client_secret))
        if client_certificate is not None:
            graph.certificates.append(_load_cert(client_certificate))
        new = {client_id: graph}
        if bot_app_id is not None:
            _req_str("bot_app_id", bot_app_id)
            bot = graph if bot_app_id == client_id else Client(tid, bot_app_id)
            bot.bot = True
            if bot_secret is not None:
                bot.secrets.add(_req_str("bot_secret", bot_secret))
            elif bot is not graph and bot_certificate is None and client_secret is not None:
                bot.secrets.add(client_secret)  # one secret for both apps
            if bot_certificate is not None:
                bot.certificates.append(_load_cert(bot_certificate))
            elif bot is not graph and bot_secret is None and client_certificate is not None:
                bot.certificates.append(_load_cert(client_certificate))
            new[bot_app_id] = bot
        with self.lock:
            info = self.tenants.setdefault(tid, {"client_ids": set(), "bot_app_ids": set()})
            info["client_ids"].add(client_id)
            if bot_app_id is not None:
                info["bot_app_ids"].add(bot_app_id)
            for cid, c in new.items():
                self.clients[(tid, cid)] = c

    def add_user(self, aad_tenant_id: str, user_id: str, *, app_installed: bool = True) -> None:
        t = Target(_req_str("aad_tenant_id", aad_tenant_id), _req_str("user_id", user_id), bool(app_installed))
        with self.lock:
            self.users[user_id.lower()] = t

    def remove_user(self, user_id: str) -> None:
        with self.lock:
            del self.users[user_id.lower()]

    def add_chat(self, aad_tenant_id: str, chat_id: str, *, app_installed: bool = True) -> None:
        t = Target(_req_str("aad_tenant_id", aad_tenant_id), _req_str("chat_id", chat_id), bool(app_installed))
        with self.lock:
            self.chats[chat_id] = t

    def add_team(self, aad_tenant_id: str, team_id: str, *, app_installed: bool = True) -> None:
        t = Target(_req_str("aad_tenant_id", aad_tenant_id), _req_str("team_id", team_id), bool(app_installed))
        with self.lock:
            self.teams[team_id.lower()] = t

    def add_conversation(
        self,
        aad_tenant_id: str,
        conversation_id: str,
        *,
        bot_app_ids: Union[str, Iterable[str]],
        conversation_type: str = "personal",
        region: str = "amer",
        blocked: bool = False,
    ) -> str:
        tid = _req_str("aad_tenant_id", aad_tenant_id)
        _req_str("conversation_id", conversation_id)
        if "/" in conversation_id:
            raise ValueError("conversation_id must not contain '/'")
        if isinstance(bot_app_ids, str):
            bot_app_ids = [bot_app_ids]
        bots = {_req_str("bot_app_id", b) for b in bot_app_ids}
        if conversation_type not in CONVERSATION_TYPES:
            raise ValueError(f"conversation_type must be one of {CONVERSATION_TYPES}")
        if not isinstance(region, str) or not _REGION.match(region):
            raise ValueError("region must be a simple path segment such as 'amer' or 'emea'")
        with self.lock:
            self.conversations[conversation_id] = Conversation(
                tid, conversation_id, bots, conversation_type, region, bool(blocked)
            )
        return self.service_url(region)

    def service_url(self, region: str = "amer") -> str:
        return f"{self.base_url}/bot/{region}/"

    def _conversation(self, conversation_id: str) -> Conversation:
        try:
            return self.conversations[conversation_id]
        except KeyError:
            raise KeyError(f"unknown conversation {conversation_id!r}") from None

    def remove_conversation(self, conversation_id: str) -> None:
        with self.lock:
            self._conversation(conversation_id)
            del self.conversations[conversation_id]

    def add_bot(self, conversation_id: str, bot_app_id: str) -> None:
        with self.lock:
            self._conversation(conversation_id).bot_app_ids.add(_req_str("bot_app_id", bot_app_id))

    def remove_bot(self, conversation_id: str, bot_app_id: str) -> None:
        with self.lock:
            self._conversation(conversation_id).bot_app_ids.discard(bot_app_id)

    def block_conversation(self, conversation_id: str, blocked: bool = True) -> None:
        with self.lock:
            self._conversation(conversation_id).blocked = bool(blocked)

    def add_webhook(self, aad_tenant_id: str, *, webhook_id: Optional[str] = None, sig: Optional[str] = None) -> str:
        tid = _req_str("aad_tenant_id", aad_tenant_id)
        wid = (webhook_id or secrets.token_hex(16)).lower()
        if not _HEX32.match(wid):
            raise ValueError("webhook_id must be 32 hex digits")
        sig = sig or secrets.token_urlsafe(32)
        if not re.match(r"^[A-Za-z0-9_-]+$", sig):
            raise ValueError("sig must be URL-safe base64 text")
        with self.lock:
            self.webhooks[wid] = Webhook(tid, wid, sig)
        return self.webhook_url(wid, sig)

    def webhook_url(self, wid: str, sig: str) -> str:
        return (
            f"{self.base_url}/workflows/{wid}/triggers/manual/paths/invoke"
            f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
        )

    def remove_webhook(self, url_or_id: str) -> None:
        wid = webhook_id_of(url_or_id)
        with self.lock:
            if self.webhooks.pop(wid, None) is None:
                raise KeyError(f"unknown webhook {wid!r}")

    def list_webhooks(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"aad_tenant_id": w.tenant, "webhook_id": w.id, "url": self.webhook_url(w.id, w.sig)}
                for w in self.webhooks.values()
            ]

    # ----------------------------------------------------------------- tokens
    def issue_token(self, tenant: str, client_id: str, audience: str) -> tuple[str, int]:
        tok = "sbx." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[tok] = Token(tenant, client_id, audience, time.monotonic() + self.token_lifetime)
            if len(self.tokens) > 10_000:  # drop expired ones now and then
                now = time.monotonic()
                for k in [k for k, v in self.tokens.items() if v.expires_at <= now]:
                    del self.tokens[k]
        return tok, self.token_lifetime

    def revoke_tokens(self, tenant: Optional[str] = None, client_id: Optional[str] = None) -> int:
        with self.lock:
            doomed = [
                k
                for k, v in self.tokens.items()
                if (tenant is None or v.tenant == tenant) and (client_id is None or v.client_id == client_id)
            ]
            for k in doomed:
                del self.tokens[k]
        return len(doomed)

    # ----------------------------------------------------------------- faults
    def add_fault(self, fault: Fault) -> str:
        if not isinstance(fault, Fault):
            raise TypeError("expected a Fault")
        with self.lock:
            return self.faults.add(fault, time.monotonic())

    def remove_fault(self, fault_id: str) -> bool:
        with self.lock:
            return self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.faults.list(time.monotonic())

    # ----------------------------------------------------------------- limits
    def reset_limits(self) -> None:
        with self.lock:
            self.limiter.clear()

    def next_activity_id(self) -> str:
        with self.lock:
            now_ms = int(time.time() * 1000)
            self._activity_id = max(self._activity_id + 1, now_ms)
            return str(self._activity_id)

    # ---------------------------------------------------------------- records
    def record(self, **fields: Any) -> RecordedRequest:
        with self.records_cond:
            self._seq += 1
            rec = RecordedRequest(seq=self._seq, **fields)
            self.records.append(rec)
            self.records_version += 1
            self.records_cond.notify_all()
        return rec

    def notify(self) -> None:
        """Wake wait_for() callers (e.g. a fault started holding a request)."""
        with self.records_cond:
            self.records_version += 1
            self.records_cond.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self.records_cond:
            return list(self.records)

    def reset_records(self) -> None:
        with self.records_cond:
            self.records.clear()
            self.records_version += 1
            self.records_cond.notify_all()

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], Any], timeout: float) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while True:
            with self.records_cond:
                version = self.records_version
                snap = list(self.records)
            if predicate(snap):  # evaluated without the lock: handlers keep running
                return snap
            with self.records_cond:
                while self.records_version == version:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(
                            f"sandbox: condition not met within {timeout} s ({len(self.records)} requests recorded)"
                        )
                    self.records_cond.wait(remaining)

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.clients.clear()
            self.users.clear()
            self.chats.clear()
            self.teams.clear()
            self.conversations.clear()
            self.webhooks.clear()
            self.tokens.clear()
            self.faults.clear()
            self.limiter.clear()
        self.reset_records()

    # ----------------------------------------------------------------- config
    def load_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Preload tenants/users/chats/teams/conversations/webhooks/faults.

        Each list entry holds the keyword arguments of the matching add_*
        call. Returns {"service_urls": {...}, "webhooks": [...]}."""
        if not isinstance(config, dict):
            raise ValueError("config must be a JSON object")
        known = {"tenants", "users", "chats", "teams", "conversations", "webhooks", "faults"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        out: dict[str, Any] = {"service_urls": {}, "webhooks": []}
        for entry in config.get("tenants", []):
            self.add_tenant(**entry)
        for entry in config.get("users", []):
            self.add_user(**entry)
        for entry in config.get("chats", []):
            self.add_chat(**entry)
        for entry in config.get("teams", []):
            self.add_team(**entry)
        for entry in config.get("conversations", []):
            out["service_urls"][entry["conversation_id"]] = self.add_conversation(**entry)
        for entry in config.get("webhooks", []):
            out["webhooks"].append(self.add_webhook(**entry))
        for entry in config.get("faults", []):
            self.add_fault(Fault(**entry))
        return out
