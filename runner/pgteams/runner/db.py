"""Every SQL statement the runner runs, and how its connections are made.

The runner calls only the SQL API (msteams.claim_deliveries, complete_deliveries,
release_deliveries, defer_deliveries, next_due_at, runner_heartbeat, runner_metrics) and never reads or writes a table itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from ..postgres import conninfo
from .claim import Claim
from .config import Settings

CLAIM = "SELECT * FROM msteams.claim_deliveries(%s, %s, make_interval(secs => %s))"
COMPLETE = "SELECT tenant, delivery_id, outcome, retry_at FROM msteams.complete_deliveries(%s, %s)"
RELEASE = "SELECT msteams.release_deliveries(%s, %s)"
DEFER = "SELECT msteams.defer_deliveries(%s, %s)"
NEXT_DUE = "SELECT msteams.next_due_at() AS at"
HEARTBEAT = "SELECT msteams.runner_heartbeat(%s, %s) AS live"
RUNNER_METRICS = "SELECT metric, label, value FROM msteams.runner_metrics()"


async def connect(settings: Settings, application_name: str) -> psycopg.AsyncConnection:
    conn = await psycopg.AsyncConnection.connect(
        conninfo(settings.dsn, application_name, statement_timeout_ms=settings.statement_timeout_ms,
                 pgbouncer=settings.pgbouncer),
        autocommit=True, row_factory=dict_row)
    if settings.pgbouncer:
        conn.prepare_threshold = None      # server-side prepared statements do not survive transaction pooling
    return conn


class Database:
    """The runner's SQL API calls on one autocommit connection (reconnected by the caller)."""

    def __init__(self, settings: Settings, role: str) -> None:
        self._settings = settings
        self._role = role
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await connect(self._settings, f"pgteams-runner-{self._role}")
        return self._conn

    async def _rows(self, sql: str, params: tuple, row_factory: Any = dict_row) -> list:
        conn = await self._connection()
        try:
            async with conn.cursor(row_factory=row_factory) as cur:
                await cur.execute(sql, params)
                return await cur.fetchall()
        except psycopg.OperationalError:
            await self.close()          # the next call reconnects
            raise

    async def claim(self, limit: int) -> list[Claim]:
        return await self._rows(CLAIM, (self._settings.worker_id, limit, self._settings.lease_seconds),
                                class_row(Claim))

    async def complete(self, outcomes: list[dict]) -> list[dict]:
        return await self._rows(COMPLETE, (self._settings.worker_id, Jsonb(outcomes)))

    async def defer(self, deferrals: list[dict]) -> int:
        rows = await self._rows(DEFER, (self._settings.worker_id, Jsonb(deferrals)))
        return int(next(iter(rows[0].values())))

    async def release(self, delivery_ids: list[int] | None) -> int:
        rows = await self._rows(RELEASE, (self._settings.worker_id, delivery_ids))
        return int(next(iter(rows[0].values())))

    async def next_due_at(self) -> dt.datetime | None:
        rows = await self._rows(NEXT_DUE, ())
        return rows[0]["at"]

    async def heartbeat(self, stopping: bool = False) -> int:
        rows = await self._rows(HEARTBEAT, (self._settings.worker_id, stopping))
        return int(rows[0]["live"])

    async def runner_metrics(self) -> list[dict]:
        return await self._rows(RUNNER_METRICS, ())

    async def close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None
