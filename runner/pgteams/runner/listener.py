"""LISTEN msteams_outbox on a dedicated autocommit connection, reconnecting for ever.

A NOTIFY sets the wake event. After every (re)connect the event is set too, because
notifications sent while disconnected are lost; the worker's fallback poll covers the rest.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

from . import db
from .config import Settings

log = logging.getLogger("pgteams.listener")
CHANNEL = "msteams_outbox"
LIVENESS = 30.0      # seconds without a notification before checking the connection is alive


class Listener:
    def __init__(self, settings: Settings, wake: asyncio.Event, stop: asyncio.Event) -> None:
        self._settings = settings
        self._wake = wake
        self._stop = stop
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                conn = await db.connect(self._settings, "pgteams-runner-listener")
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    self._wake.set()          # anything enqueued while we were away
                    delay = 0.2
                    while not self._stop.is_set():
                        async for _ in conn.notifies(timeout=LIVENESS, stop_after=1):
                            self._wake.set()
                        await conn.execute("SELECT 1")   # a dead connection raises here
            except (psycopg.OperationalError, OSError) as exc:
                self.connected.clear()
                self.reconnects += 1
                log.warning("listener: connection lost (%s); reconnecting", type(exc).__name__)
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, 5.0)
        self.connected.clear()
