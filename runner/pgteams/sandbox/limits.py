"""The sandbox's enforcement of Microsoft's limits (the numbers live in pgteams.limits)."""

from __future__ import annotations

import math
from collections import deque
from typing import Hashable, Iterable, Sequence

from ..limits import (  # noqa: F401  (re-exported: the sandbox's public names)
    BOT_MESSAGE_ADVISED_BYTES,
    BOT_MESSAGE_MAX_BYTES,
    GRAPH_BULK_MAX_RECIPIENTS,
    GRAPH_BULK_MIN_TOKEN_LIFETIME_S,
    GRAPH_PREVIEW_TEXT_SHOWN_CHARS,
    MICROSOFT_LIMITS,
    WEBHOOK_MAX_BYTES,
    Limit,
)


class SlidingWindowLimiter:
    """Exact sliding-window counters, one deque per (key, window).

    ``acquire`` admits a request only if every window of every check has room,
    and then counts it in all of them; a refused request is not counted, so
    the returned wait is the real time until the windows free up.  Amortised
    O(1) per window: each admitted timestamp is appended and popped once.
    Not thread-safe: the caller holds a lock (or runs on one event loop).
    """

    def __init__(self) -> None:
        self._windows: dict[Hashable, list[deque[float]]] = {}

    def clear(self) -> None:
        self._windows.clear()

    def acquire(
        self, checks: Iterable[tuple[Hashable, Sequence[tuple[int, float]]]], now: float
    ) -> float:
        """Return 0.0 if admitted (and counted), else the seconds to wait (> 0)."""
        wait = 0.0
        touched: list[deque[float]] = []
        for key, windows in checks:
            dqs = self._windows.get(key)
            if dqs is None:
                dqs = self._windows[key] = [deque() for _ in windows]
            for dq, (count, seconds) in zip(dqs, windows):
                cutoff = now - seconds
                while dq and dq[0] <= cutoff:
                    dq.popleft()
                if len(dq) >= count:
                    # the window frees when its count-th newest entry ages out
                    wait = max(wait, dq[len(dq) - count] + seconds - now)
                touched.append(dq)
        if wait > 0.0:
            return wait
        for dq in touched:
            dq.append(now)
        return 0.0


def format_retry_after(seconds: float, *, fractional: bool) -> str:
    """Retry-After value, rounded up: whole seconds (at least 1), or, when
    ``fractional`` (Graph style, e.g. "2.128"), milliseconds (at least 0.001)."""
    if fractional:
        ms = max(1, math.ceil(seconds * 1000 - 1e-6))
        return f"{ms / 1000:.3f}"
    return str(max(1, math.ceil(seconds - 1e-9)))
