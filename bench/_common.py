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
