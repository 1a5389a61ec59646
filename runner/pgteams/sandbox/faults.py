"""Injected faults: what they are and which requests they answer."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

__all__ = ["Fault", "FAULT_KINDS", "ENDPOINTS", "FaultBook"]

#: fault kind -> endpoints it may answer (the first tuple is the default set
#: used when ``Fault.endpoint`` is None; the second the allowed set).
FAULT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "throttle": (("graph", "bot", "webhook"), ("graph", "bot", "webhook", "token")),
    "server_error": (("graph", "bot", "webhook"), ("graph", "bot", "webhook", "token")),
    "timeout": (("graph", "bot", "webhook"), ("graph", "bot", "webhook", "token")),
    "slow": (("graph", "bot", "webhook"), ("graph", "bot", "webhook", "token")),
    "token_error": (("token",), ("token",)),
    "app_not_installed": (("graph",), ("graph",)),
    "conversation_blocked": (("bot",), ("bot",)),
}
ENDPOINTS = ("graph", "bot", "webhook", "token")

DEFAULT_DELAY = {"timeout": 30.0, "slow": 2.0}
DEFAULT_STATUS = {"server_error": 503, "token_error": 500, "timeout": 504, "throttle": 429}

_WEBHOOK_ID = re.compile(r"/workflows/([0-9a-fA-F]{32})/")


@dataclass
class Fault:
    """A fault to inject.

    kind:        throttle | server_error | timeout | slow | token_error |
                 app_not_installed | conversation_blocked
    tenant:      only requests whose token tenant or target tenant is this
    destination: only requests to this user / chat / team / conversation /
                 webhook id (a full webhook URL is accepted too)
    count:       answer this many matching requests, then disappear
    duration:    seconds from injection after which the fault disappears
    status:      HTTP status (server_error: default 503; token_error: 500)
    retry_after: Retry-After seconds (throttle: default = remaining duration,
                 else 1; server_error: header only when given)
    delay:       seconds to hold the answer (timeout: default 30; slow: 2)
    endpoint:    graph | bot | webhook | token (default: graph, bot and
                 webhook for the generic kinds; token_error is token-only)
    """

    kind: str
    tenant: Optional[str] = None
    destination: Optional[str] = None
    count: Optional[int] = None
    duration: Optional[float] = None
    status: Optional[int] = None
    retry_after: Optional[float] = None
    delay: Optional[float] = None
    endpoint: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        allowed = FAULT_KINDS[self.kind][1]
        if self.endpoint is not None and self.endpoint not in allowed:
            raise ValueError(f"fault kind {self.kind!r} cannot answer endpoint {self.endpoint!r}")
        if self.count is not None and int(self.count) < 1:
            raise ValueError("count must be >= 1")
        if self.duration is not None and float(self.duration) <= 0:
            raise ValueError("duration must be > 0")
        if self.delay is not None and float(self.delay) < 0:
            raise ValueError("delay must be >= 0")
        if self.status is not None and not 100 <= int(self.status) <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.destination is not None:
            m = _WEBHOOK_ID.search(self.destination)
            if m and "://" in self.destination:
                self.destination = m.group(1)

    @property
    def endpoints(self) -> tuple[str, ...]:
        if self.endpoint is not None:
            return (self.endpoint,)
        return FAULT_KINDS[self.kind][0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Active:
    id: str
    fault: Fault
    expires_at: Optional[float]  # monotonic
    remaining: Optional[int]
    hits: int = 0
    created_at: float = field(default=0.0)


class FaultBook:
    """Active faults, oldest first. Not thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._active: list[_Active] = []
        self._next = 1

    def add(self, fault: Fault, now: float) -> str:
        fid = f"fault-{self._next}"
        self._next += 1
        self._active.append(
            _Active(
                id=fid,
                fault=fault,
                expires_at=None if fault.duration is None else now + float(fault.duration),
                remaining=None if fault.count is None else int(fault.count),
                created_at=now,
            )
        )
        return fid

    def remove(self, fault_id: str) -> bool:
        before = len(self._active)
        self._active = [a for a in self._active if a.id != fault_id]
        return len(self._active) != before

    def clear(self) -> None:
        self._active.clear()

    def list(self, now: float) -> list[dict[str, Any]]:
        self._expire(now)
        out = []
        for a in self._active:
            d = a.fault.to_dict()
            d.update(
                id=a.id,
                remaining_count=a.remaining,
                remaining_seconds=None if a.expires_at is None else max(0.0, a.expires_at - now),
                hits=a.hits,
            )
            out.append(d)
        return out

    def _expire(self, now: float) -> None:
        if any(a.expires_at is not None and a.expires_at <= now for a in self._active):
            self._active = [a for a in self._active if a.expires_at is None or a.expires_at > now]

    def match(
        self,
        endpoint: str,
        tenants: tuple[Optional[str], ...],
        destination: Optional[str],
        now: float,
    ) -> Optional[tuple[str, Fault, Optional[float]]]:
        """Find the oldest fault that answers this request and consume one use.

        Returns (fault_id, fault, remaining_seconds_or_None) or None."""
        if not self._active:
            return None
        self._expire(now)
        for a in self._active:
            f = a.fault
            if endpoint not in f.endpoints:
                continue
            if f.tenant is not None and f.tenant not in tenants:
                continue
            if f.destination is not None and (
                destination is None or f.destination.lower() != destination.lower()
            ):
                continue
            a.hits += 1
            if a.remaining is not None:
                a.remaining -= 1
                if a.remaining <= 0:
                    self._active.remove(a)
            left = None if a.expires_at is None else a.expires_at - now
            return a.id, f, left
        return None
