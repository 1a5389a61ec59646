"""Send at Microsoft's published rate limits, and no faster.

Every delivery belongs to a few *scopes* (its tenant's Graph app, the bot conversation, the
webhook…), each with the limits Microsoft publishes for it (pgteams.limits). reserve() gives a
delivery the earliest send time that keeps every one of its scopes within every window, and
records it; the worker waits that long, or — beyond a short horizon — gives the delivery back to
the outbox due at that time (defer_deliveries), so no lease is held while waiting and other
tenants are not stuck behind a throttled one.

Several runners share a tenant's budget: the windows are stretched by the number of live runners
(runner_heartbeat). A 429 pauses the scope for Retry-After in this runner and — through
complete_deliveries, durably in SQL — for every runner.
"""

from __future__ import annotations

import time
from collections import deque

from .classify import Outcome
from .limits import MICROSOFT_LIMITS

MARGIN = 1.03        # send at ~97 % of the limit: room for clock and network jitter
HORIZON = 1.0        # seconds: wait in memory up to this long, defer beyond it
THROTTLED_CODES = frozenset({"graph_throttled", "bot_throttled", "webhook_throttled"})


def _windows(name: str) -> tuple[tuple[int, float], ...]:
    return MICROSOFT_LIMITS[name].windows


SCOPE_WINDOWS = {
    "graph.tenant": _windows("graph.activity_feed.per_app_per_tenant"),
    "graph.app": _windows("graph.activity_feed.per_app"),
    "graph.user": _windows("graph.activity_feed.per_user_guidance"),
    "bot.conversation": _windows("bot.send.per_bot_per_conversation"),
    "bot.tenant": _windows("bot.per_app_per_tenant"),
    "webhook": _windows("webhook.per_url"),
}


class _Scope:
    __slots__ = ("windows", "times", "paused_until", "last_used")

    def __init__(self, windows: tuple[tuple[int, float], ...]) -> None:
        self.windows = windows
        self.times: deque[float] = deque(maxlen=max(n for n, _ in windows))
        self.paused_until = 0.0
        self.last_used = 0.0

    def earliest(self, now: float, stretch: float) -> float:
        """Send times are handed out in order, so a window (n, w) holds as long as the n-th most
        recent reservation is at least w (stretched) before the new one."""
        t = max(now, self.paused_until, self.times[-1] if self.times else now)
        for n, w in self.windows:
            if len(self.times) >= n:
                t = max(t, self.times[-n] + w * stretch)
        return t


def scopes_of(row) -> list[tuple]:
    """The rate-limit scopes one claimed delivery counts against."""
    transport = row["transport"]
    if transport == "graph":
        keys = [("graph.tenant", row["aad_tenant_id"], row["client_id"]), ("graph.app", row["client_id"])]
        if row["destination_type"] == "user_activity":
            keys.append(("graph.user", row["client_id"], row["destination_id"]))
        return keys
    if transport == "bot":
        return [("bot.conversation", row["bot_app_id"], row["conversation_id"]),
                ("bot.tenant", row["aad_tenant_id"], row["bot_app_id"])]
    return [("webhook", str(row["tenant"]), row["destination_id"])]


class Throttle:
    def __init__(self, enabled: bool = True, *, clock=time.monotonic) -> None:
        self.enabled = enabled
        self.horizon = HORIZON
        self.runners = 1
        self._clock = clock
        self._scopes: dict[tuple, _Scope] = {}
        self._reservations = 0

    def set_runners(self, n: int) -> None:
        """The number of live runners sharing every budget."""
        self.runners = max(1, int(n))

    def _scope(self, key: tuple) -> _Scope:
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._scopes[key] = _Scope(SCOPE_WINDOWS[key[0]])
        return scope

    def reserve(self, row) -> float:
        """Reserve the earliest allowed send time for this delivery; return the wait in seconds."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        stretch = MARGIN * self.runners
        scopes = [self._scope(k) for k in scopes_of(row)]
        t = max(s.earliest(now, stretch) for s in scopes)
        for s in scopes:
            s.times.append(t)
            s.last_used = now
        self._reservations += 1
        if self._reservations % 10000 == 0:
            self._sweep(now)
        return t - now

    def observe(self, row, outcome: Outcome) -> None:
        """A 429 anyway: pause the delivery's scopes for Retry-After (at least one second)."""
        if not self.enabled or outcome.error_code not in THROTTLED_CODES:
            return
        until = self._clock() + max(outcome.retry_after or 1.0, 1.0)
        for key in scopes_of(row):
            scope = self._scope(key)
            scope.paused_until = max(scope.paused_until, until)

    def _sweep(self, now: float) -> None:
        """Forget scopes unused for an hour (their windows are all empty by then)."""
        stale = [k for k, s in self._scopes.items() if now - s.last_used > 3600 and now > s.paused_until]
        for k in stale:
            del self._scopes[k]
