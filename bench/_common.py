"""Shared scaffolding for the bench/ scripts: a throw-away durable PostgreSQL, timing, reporting.

Every bench script starts its own PostgreSQL (fsync on, like production), loads data, runs the
measured work and its baseline alternately in the same run, and prints medians and ratios.
The machine is small and noisy: compare only within one run, quote medians.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "runner"))

import psycopg  # noqa: E402

from pgteams.ops.embedded import EmbeddedPostgres  # noqa: E402
from pgteams.ops.migrate import migrate  # noqa: E402


@contextmanager
def bench_database(settings: dict[str, str] | None = None) -> Iterator[str]:
    """A migrated database in a throw-away, durable (fsync on) PostgreSQL; yields its DSN."""
    with EmbeddedPostgres(durable=True, settings=settings) as pg:
        dsn = pg.dsn("postgres")
        migrate(dsn)
        yield dsn


def machine_line(dsn: str | None = None) -> str:
    parts = [time.strftime("%Y-%m-%d"), platform.machine(), f"{os.cpu_count()} cores",
             f"Python {platform.python_version()}"]
    if dsn:
        with psycopg.connect(dsn) as conn:
            v = conn.execute("SHOW server_version").fetchone()[0]
            sb = conn.execute("SHOW shared_buffers").fetchone()[0]
            fs = conn.execute("SHOW fsync").fetchone()[0]
            sc = conn.execute("SHOW synchronous_commit").fetchone()[0]
        parts.append(f"PostgreSQL {v} (shared_buffers={sb}, fsync={fs}, synchronous_commit={sc})")
    return " · ".join(parts)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def alternate(rounds: int, measured: Callable[[], object], baseline: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Run measured and baseline alternately `rounds` times each; return both lists of seconds."""
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(measured))
        b.append(timed(baseline))
    return a, b


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a small two-column table."""
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "inf"


# What "another tenant's host, writing all along" writes beside a measured maintenance operation:
# one outbox row or one ledger row of this month per autocommit statement (%(n)s numbers them).
OUTBOX_WRITE = """
    INSERT INTO msteams.outbox (tenant, max_attempts, priority, category, destination_type,
        destination_id, transport, internal_notification_id, enqueue_key, payload)
    VALUES ('00000000-0000-0000-0000-000000000001', 6, 'high', 'assignment', 'user_activity',
            'user-1', 'graph', 'w-' || %(n)s, 'w-' || %(n)s, '{"title": "x"}')"""
LEDGER_WRITE = """
    INSERT INTO msteams.notification_deliveries
        (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category,
         priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
    VALUES ('00000000-0000-0000-0000-000000000001', %(n)s, 1, 'sent', true, 'w-' || %(n)s,
            'assignment', 'high', 'user_activity', 'user-1', 'w-' || %(n)s, now(), now())"""


class BackgroundWriter(threading.Thread):
    """Another host writing all along beside the measured work: ``statement(conn, n)`` in a loop,
    one autocommit statement at a time, each timed as (start, seconds)."""

    def __init__(self, dsn: str, name: str, statement: Callable[[psycopg.Connection, int], object]) -> None:
        super().__init__(name=name, daemon=True)
        self.dsn, self.statement = dsn, statement
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                t0 = time.perf_counter()
                self.statement(conn, n)
                self.samples.append((t0, time.perf_counter() - t0))

    def window(self, start: float, end: float) -> dict[str, float]:
        """Statements completed per second between start and end; latency of those that overlapped it."""
        lat = sorted(d for (t, d) in self.samples if t < end and t + d > start)
        done = sum(1 for (t, d) in self.samples if start <= t + d <= end)
        if not lat:
            return {"rate": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0}
        return {"rate": done / (end - start), "p50": statistics.median(lat) * 1e3,
                "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3, "max": lat[-1] * 1e3}


def fmt_window(w: dict[str, float]) -> str:
    return f"{w['rate']:,.0f}/s, p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms, max {w['max']:.1f} ms"
