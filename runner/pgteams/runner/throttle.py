"""Send at Microsoft's published rate limits, and no faster.

Every delivery belongs to a few *scopes* (its tenant's Graph app, the recipient, the bot
conversation, the webhook…), each with the limits Microsoft publishes for it (pgteams.limits).

* plan(claim), when a delivery is claimed, estimates how long it would wait for its scopes. Within
  a short horizon it waits in memory; beyond it, it goes back to the outbox due at the estimated
  time (defer_deliveries), so no lease is held while waiting and other tenants are not stuck
  behind a throttled one. Deferred deliveries are spread over the future at the scope's rate.
* acquire(claim), just before the request goes on the wire, waits until every window of every
  scope has room and records the actual send time — the windows are kept on real send times,
  the same clock Microsoft counts on.

Several runners share a tenant's budget: the windows are stretched by the number of live runners.
A 429 pauses the scope for Retry-After here and — through complete_deliveries, durably in SQL —
for every runner.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from ..limits import MICROSOFT_LIMITS
from .claim import Claim
from .classify import Outcome

MARGIN = 1.03        # send at ~97 % of the limit: room for clock and network jitter
HORIZON = 1.0        # seconds: wait in memory up to this long, defer beyond it
THROTTLED_CODES = frozenset({"graph_throttled", "bot_throttled", "webhook_throttled"})

SCOPE_LIMITS = {
    "graph.tenant": "graph.activity_feed.per_app_per_tenant",
    "graph.app": "graph.activity_feed.per_app",
    "graph.user": "graph.activity_feed.per_user_guidance",
    "bot.conversation": "bot.send.per_bot_per_conversation",
    "bot.tenant": "bot.per_app_per_tenant",
    "webhook": "webhook.per_url",
}


class _Scope:
    __slots__ = ("windows", "span", "sent", "planned", "paused_until", "waiting", "last_used")

    def __init__(self, windows: tuple[tuple[int, float], ...]) -> None:
        self.windows = windows
        self.span = max(w for _, w in windows)             # the longest window
        size = max(n for n, _ in windows)
        self.sent: deque[float] = deque(maxlen=size)      # real send start times
        self.planned: deque[float] = deque(maxlen=size)   # slots promised to deferred deliveries
        self.paused_until = 0.0
        self.waiting = 0
        self.last_used = 0.0

    def wait(self, now: float, stretch: float) -> float:
        """Seconds until one more request could start, counting the ones already waiting in
        memory as if they went now (a burst a window allows is not spread at the average rate)."""
        k = self.waiting
        t = max(now, self.paused_until)
        for n, w in self.windows:
            span = w * stretch
            if k >= n:
                t = max(t, now + span * (k // n))
            elif len(self.sent) >= n - k:
                t = max(t, self.sent[-(n - k)] + span)
        return t - now

    def plan_slot(self, now: float, stretch: float) -> float:
        """The next slot for a deferred delivery: after the ones already promised, within every
        window counting both real sends and promised slots."""
        while self.planned and self.planned[0] < now - self.span * stretch:
            self.planned.popleft()
        t = max(now, self.paused_until, self.planned[-1] if self.planned else now)
        for n, w in self.windows:
            k = len(self.planned)
            if k >= n:
                t = max(t, self.planned[-n] + w * stretch)
            elif len(self.sent) >= n - k:
                t = max(t, self.sent[-(n - k)] + w * stretch)
        return t

    def earliest(self, now: float, stretch: float) -> float:
        """The earliest time a request may start: every window (n, w) needs its n-th most recent
        send to be at least w (stretched) in the past."""
        t = max(now, self.paused_until)
        for n, w in self.windows:
            if len(self.sent) >= n:
                t = max(t, self.sent[-n] + w * stretch)
        return t


def scopes_of(claim: Claim) -> list[tuple]:
    """The rate-limit scopes one claimed delivery counts against."""
    transport = claim.transport
    if transport == "graph":
        keys = [("graph.tenant", claim.aad_tenant_id, claim.client_id), ("graph.app", claim.client_id)]
        if claim.destination_type == "user_activity":
            keys.append(("graph.user", claim.client_id, claim.destination_id))
        return keys
    if transport == "bot":
        return [("bot.conversation", claim.bot_app_id, claim.conversation_id),
                ("bot.tenant", claim.aad_tenant_id, claim.bot_app_id)]
    return [("webhook", str(claim.tenant), claim.destination_id)]


class Throttle:
    def __init__(self, enabled: bool = True, *, clock=time.monotonic) -> None:
        self.enabled = enabled
        self.horizon = HORIZON
        self.runners = 1
        self._clock = clock
        self._scopes: dict[tuple, _Scope] = {}
        self._planned = 0

    def set_runners(self, n: int) -> None:
        """The number of live runners sharing every budget."""
        self.runners = max(1, int(n))

    @property
    def _stretch(self) -> float:
        return MARGIN * self.runners

    def _scopes_for(self, claim: Claim) -> list[_Scope]:
        found = []
        for key in scopes_of(claim):
            scope = self._scopes.get(key)
            if scope is None:
                scope = self._scopes[key] = _Scope(MICROSOFT_LIMITS[SCOPE_LIMITS[key[0]]].windows)
            found.append(scope)
        return found

    def plan(self, claim: Claim) -> float | None:
        """None: send it (it waits in memory at most about the horizon). A number: defer it by that
        many seconds — it is due again when its scopes should have room."""
        if not self.enabled:
            return None
        now = self._clock()
        scopes = self._scopes_for(claim)
        stretch = self._stretch
        waits = [(s, s.wait(now, stretch)) for s in scopes]
        for s in scopes:
            s.last_used = now
        delay = max(w for _, w in waits)
        if delay <= self.horizon:
            for s in scopes:
                s.waiting += 1
            return None
        # A full scope promises the deferred delivery its next free slot, counting the slots it
        # promised before, so deferred deliveries come back exactly as fast as the windows allow.
        # When they come back they wait in memory like any other (deferred again only if the
        # in-memory queue is full again), so every deferral is progress. Only the full scopes
        # promise slots: a slow per-recipient scope does not hold back the whole tenant.
        binding = [s for s, w in waits if w > self.horizon]
        slot = max(max(s.plan_slot(now, stretch) for s in binding), now + delay)
        for s in binding:
            s.planned.append(slot)
        delay = slot - now
        self._planned += 1
        if self._planned % 10000 == 0:
            self._sweep(now)
        return delay

    async def acquire(self, claim: Claim, max_wait: float = 30.0) -> float | None:
        """Wait until the delivery may go on the wire and record it as sent now; return the seconds
        waited, or None when that would take longer than max_wait (defer it instead: a lease must
        not run out while a delivery waits in memory)."""
        if not self.enabled:
            return 0.0
        scopes = self._scopes_for(claim)
        started = self._clock()
        try:
            while True:
                now = self._clock()
                t = max(s.earliest(now, self._stretch) for s in scopes)
                if t <= now:
                    for s in scopes:
                        s.sent.append(now)
                    return now - started
                if t - started > max_wait:
                    return None
                await asyncio.sleep(t - now)
        finally:
            for s in scopes:
                s.waiting = max(0, s.waiting - 1)

    def observe(self, claim: Claim, outcome: Outcome) -> None:
        """A 429 anyway: pause the delivery's scopes for Retry-After (at least one second)."""
        if not self.enabled or outcome.error_code not in THROTTLED_CODES:
            return
        until = self._clock() + max(outcome.retry_after or 1.0, 1.0)
        for scope in self._scopes_for(claim):
            scope.paused_until = max(scope.paused_until, until)

    def _sweep(self, now: float) -> None:
        """Forget scopes unused for an hour (their windows are all empty by then)."""
        stale = [k for k, s in self._scopes.items()
                 if now - s.last_used > 3600 and now > s.paused_until and not s.waiting]
        for k in stale:
            del self._scopes[k]
