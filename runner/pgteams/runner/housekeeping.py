"""The runner's housekeeping: its heartbeat, the database gauges, and scheduled maintenance.

Two independent loops, each on its own connection, so that neither can delay the other:

- **heartbeat** (every ``HEARTBEAT_INTERVAL`` seconds): ``runner_heartbeat`` tells the database
  this runner is alive and returns how many runners are, which sets this runner's share of every
  rate budget; then ``runner_metrics`` refreshes the database gauges of ``/metrics``.
- **maintenance** (``maintenance_interval``; 0 turns it off): partitions ahead and retention, run by
  one runner at a time (``pgteams.ops.maintain.MaintenanceLeader``, a session advisory lock). It
  runs in a thread on a connection of its own, so a long maintenance never holds up a heartbeat.

Both connections are made like every other runner connection (``pgteams.postgres.conninfo``:
keepalives, TCP user timeout, statement timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import psycopg

from ..ops.maintain import MaintenanceLeader
from ..postgres import conninfo, one_line
from .config import Settings
from .db import Database
from .metrics import Metrics
from .throttle import Throttle

log = logging.getLogger("pgteams.runner")
HEARTBEAT_INTERVAL = 10.0     # seconds between heartbeats


class Housekeeping:
    def __init__(self, settings: Settings, throttle: Throttle, metrics: Metrics, stop: asyncio.Event) -> None:
        self._settings = settings
        self._throttle = throttle
        self._metrics = metrics
        self._stop = stop
        self._db = Database(settings, "housekeeping")
        self._leader: MaintenanceLeader | None = None
        if settings.maintenance_interval > 0:
            self._leader = MaintenanceLeader(
                conninfo(settings.dsn, "pgteams-runner-maintenance",
                         statement_timeout_ms=settings.statement_timeout_ms, pgbouncer=settings.pgbouncer),
                interval=timedelta(seconds=settings.maintenance_interval))

    def tasks(self) -> list[asyncio.Task]:
        """Start the loops (each ends when the runner stops)."""
        tasks = [asyncio.create_task(self._heartbeat_loop(), name="heartbeat")]
        if self._leader is not None:
            tasks.append(asyncio.create_task(self._maintenance_loop(), name="maintenance"))
        return tasks

    async def close(self) -> None:
        """The last heartbeat (``stopping``: the other runners take this one's share at their next
        heartbeat), then give up maintenance leadership at once so another runner can take it."""
        with contextlib.suppress(psycopg.Error, OSError):
            await self._db.heartbeat(stopping=True)
        await self._db.close()
        if self._leader is not None:
            await asyncio.to_thread(self._leader.close)

    async def _pause(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), HEARTBEAT_INTERVAL)

    async def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            try:
                live = await self._db.heartbeat()
                self._throttle.set_runners(live)
                self._metrics.runners.set(live)
                self._metrics.database_gauges(await self._db.runner_metrics())
            except (psycopg.OperationalError, OSError):
                self._metrics.db_error("housekeeping")
            except psycopg.Error as exc:
                log.warning("housekeeping: %s", one_line(exc))
            await self._pause()

    async def _maintenance_loop(self) -> None:
        assert self._leader is not None
        while not self._stop.is_set():
            try:
                result = await asyncio.to_thread(self._leader.try_run)
            except (psycopg.Error, OSError) as exc:
                log.warning("maintenance: %s", type(exc).__name__)
                result = None
            errors = (result or {}).get("errors") or {}
            if errors and all(e.endswith("[42501]") for e in errors.values()):
                log.warning("maintenance disabled: this runner's role is not msteams_admin "
                            "(grant it, or run `pgteams maintain` from cron)")
                return
            if result is not None:
                log.info("maintenance ran: %s", ", ".join(
                    f"{k} {len(v)}" for k, v in result.items() if k not in ("errors", "notices")))
                if errors:
                    log.warning("maintenance errors: %s", errors)
            await self._pause()
