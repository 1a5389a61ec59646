"""The runner's main loop: claim due deliveries, send them with bounded concurrency, report outcomes.

    listener ──wake──▶ claim loop ──rows──▶ send tasks (≤ concurrency) ──outcomes──▶ reporter ──▶ complete_deliveries
                         │  rows the throttle cannot serve soon ──▶ defer_deliveries (back to the outbox, timed)
                         └─ idle: sleep until NOTIFY, the next due time, or the poll interval

Shutdown (SIGTERM/SIGINT): stop claiming; let sends already on the wire finish within
shutdown_timeout; give back everything else with release_deliveries (a second signal gives back at
once); report every outcome; exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import ssl
import time
from dataclasses import dataclass

import httpx
import psycopg

from .auth import TokenProvider
from .claim import Claim
from .classify import Outcome
from .config import Settings
from .db import Database
from .housekeeping import Housekeeping
from .listener import Listener
from .metrics import Metrics
from ..postgres import one_line
from .senders import Senders
from .throttle import Throttle

log = logging.getLogger("pgteams.runner")

# httpx logs every request URL at INFO, and a Workflows webhook URL is a secret (its sig=); msal
# may log token traffic at DEBUG. Neither may reach the runner's logs, whatever the log level.
for _noisy in ("httpx", "httpcore", "msal", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


@dataclass
class _Flight:
    claim: Claim
    task: asyncio.Task | None = None
    on_wire: bool = False          # the HTTP request has started: it may have reached Microsoft


@dataclass
class RunStats:
    claimed: int = 0
    reported: int = 0
    deferred: int = 0
    released: int = 0


CONNECTIONS_PER_CLIENT = 8


def http_clients(settings: Settings) -> list[httpx.AsyncClient]:
    """Several small pooled clients instead of one big one: httpcore's pool does work proportional to
    its connections on every request (measured: one client at 32 concurrent sends ~220 req/s, eight
    clients of 4 connections ~760 req/s on the same machine; bench/bench_e2e.py)."""
    verify: ssl.SSLContext | bool = True
    if settings.ca_file:
        verify = ssl.create_default_context(cafile=settings.ca_file)
    n = max(1, -(-settings.concurrency // CONNECTIONS_PER_CLIENT))
    per = max(1, -(-settings.concurrency // n))
    return [httpx.AsyncClient(
        verify=verify, timeout=httpx.Timeout(settings.http_timeout), trust_env=False, proxy=settings.https_proxy,
        limits=httpx.Limits(max_connections=per, max_keepalive_connections=per),
        headers={"User-Agent": "pgteams-runner"}) for _ in range(n)]


class Runner:
    def __init__(self, settings: Settings, *, metrics: Metrics | None = None,
                 install_signal_handlers: bool = True) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.stats = RunStats()
        self._install_signals = install_signal_handlers
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._wake = asyncio.Event()
        self._flights: dict[tuple[str, int], _Flight] = {}
        self._outcomes: asyncio.Queue = asyncio.Queue()
        self._throttle = Throttle(settings.throttle)
        self.listener: Listener | None = None
        self.crashed = False
        self.ready = asyncio.Event()       # set once the first claim ran (tests and the demo wait on it)

    # -- control --------------------------------------------------------------------------------
    def stop(self) -> None:
        """First call: stop claiming and drain. Second call: give back in-flight work at once."""
        if self._stop.is_set():
            self._force.set()
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def _side_task_done(self, task: asyncio.Task) -> None:
        """A side task (listener, reporter, heartbeat, maintenance) must never end on its own: if one
        crashes, stop the runner (exit code 1) rather than run on half-blind."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("runner: %s crashed (%s); stopping", task.get_name(), type(task.exception()).__name__,
                  exc_info=task.exception())
        self.crashed = True
        self._stop.set()
        self._force.set()
        self._wake.set()

    # -- main -----------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        if self._install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        self._http = http_clients(self.settings)
        self._tokens = TokenProvider(self.settings, on_token=self.metrics.token)
        self._senders = Senders(self.settings, self._tokens, self._http)
        self._claim_db = Database(self.settings, "claim")
        self._report_db = Database(self.settings, "report")
        self.listener = Listener(self.settings, self._wake, self._stop)
        housekeeping = Housekeeping(self.settings, self._throttle, self.metrics, self._stop)
        side = housekeeping.tasks()
        if self.settings.listen:
            side.append(asyncio.create_task(self.listener.run(), name="listener"))
        self._reporter_task = asyncio.create_task(self._reporter(), name="reporter")
        for task in (*side, self._reporter_task):
            task.add_done_callback(self._side_task_done)
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            if not self._reporter_task.done():
                self._reporter_task.cancel()
            for task in side:
                task.cancel()
            for task in side:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for client in self._http:
                await client.aclose()
            await housekeeping.close()
            await self._claim_db.close()
            await self._report_db.close()
            if self._install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        log.info("runner %s stopped: %d claimed, %d reported, %d deferred, %d released",
                 self.settings.worker_id, self.stats.claimed, self.stats.reported,
                 self.stats.deferred, self.stats.released)
        return 1 if self.crashed else 0

    async def _claim_loop(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            self._wake.clear()      # before claiming: a NOTIFY during the claim is not lost
            free = self.settings.concurrency - len(self._flights)
            wanted = min(free, self.settings.batch_size)
            rows: list[Claim] = []
            if wanted > 0:
                try:
                    rows = await self._claim_db.claim(wanted)
                    backoff = 0.2
                except (psycopg.OperationalError, OSError) as exc:
                    log.warning("claim: database unavailable (%s); retrying", type(exc).__name__)
                    self.metrics.db_error("claim")
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self.ready.set()
                await self._dispatch(rows)
                if len(rows) == wanted:
                    continue        # there may be more due right now
            await self._idle(wanted > 0)

    async def _idle(self, queue_empty: bool) -> None:
        timeout = self.settings.poll_interval
        if queue_empty:
            try:
                due = await self._claim_db.next_due_at()
                if due is not None:
                    wait = (due - dt.datetime.now(dt.timezone.utc)).total_seconds()
                    timeout = max(0.0, min(timeout, wait + 0.005))
            except (psycopg.Error, OSError):
                self.metrics.db_error("claim")          # the next claim retries (and reconnects)
        await self._sleep(timeout)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _dispatch(self, claims: list[Claim]) -> None:
        self.stats.claimed += len(claims)
        await self._senders.warm_up(claims)   # tokens first, so a send goes out at its reserved time
        deferred: list[dict] = []
        for claim in claims:
            if claim.reclaimed:
                self.metrics.lease_reclaimed()
            if claim.skip_code:
                # SQL decided it must not be sent (expired, inactive, stale reference …).
                self._flights[claim.key] = _Flight(claim)
                self._outcomes.put_nowait((claim, Outcome(status="skipped", error_code=claim.skip_code), None))
                continue
            delay = self._throttle.plan(claim)
            if delay is not None:
                # Not sendable soon: back to the outbox, due when its scopes should have room
                # (the attempt is not counted, no lease is held while it waits).
                deferred.append({**claim.lease(), "delay_seconds": round(delay, 3)})
                continue
            flight = _Flight(claim)
            self._flights[claim.key] = flight
            flight.task = asyncio.create_task(self._send(flight))
        if deferred:
            await self._defer(deferred)

    async def _defer(self, deferred: list[dict]) -> None:
        try:
            await self._claim_db.defer(deferred)
            self.stats.deferred += len(deferred)
            self.metrics.throttle_deferred(len(deferred))
        except (psycopg.OperationalError, OSError):
            # Not deferred: their leases expire and they are claimed again; nothing is lost.
            log.warning("defer: database unavailable; %d leases will expire instead", len(deferred))

    async def _send(self, flight: _Flight) -> None:
        """Wait for the throttle, send, queue the outcome for the reporter."""
        claim = flight.claim
        waited = await self._throttle.acquire(claim, max_wait=self.settings.lease_seconds / 4)
        if waited is None:              # its scope filled up meanwhile: back to the outbox
            self._flights.pop(claim.key, None)
            await self._defer([{**claim.lease(), "delay_seconds": self._throttle.horizon}])
            return
        self.metrics.throttle_wait(waited)
        flight.on_wire = True
        started = time.perf_counter()
        outcome = await self._senders.send(claim)
        latency_ms = int((time.perf_counter() - started) * 1000)
        self._throttle.observe(claim, outcome)
        self.metrics.attempt(claim.transport, outcome, latency_ms / 1000)
        self._outcomes.put_nowait((claim, outcome, latency_ms))

    # -- reporting ------------------------------------------------------------------------------
    async def _reporter(self) -> None:
        """Report outcomes in batches as they come; a None in the queue ends it (after the rest)."""
        done = False
        while not done:
            batch = [await self._outcomes.get()]
            while len(batch) < self.settings.report_batch and not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            if None in batch:
                done = True
                batch = [b for b in batch if b is not None]
            if batch:
                await self._report(batch)

    async def _report(self, batch: list) -> None:
        payload = []
        for claim, outcome, latency_ms in batch:
            payload.append({**outcome.report(), **claim.lease(), "latency_ms": latency_ms})
        backoff = 0.2
        while True:
            try:
                results = await self._report_db.complete(payload)
                break
            except (psycopg.OperationalError, OSError) as exc:
                # Keep the outcomes and try again: nothing is lost while this process lives.
                log.warning("report: database unavailable (%s); retrying %d outcomes", type(exc).__name__, len(batch))
                self.metrics.db_error("report")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except psycopg.Error as exc:
                # Refused (it should not happen: the runner reports what SQL asked for). Find the
                # outcome at fault by reporting one by one; the rest are recorded.
                self.metrics.db_error("report")
                if len(batch) > 1:
                    for item in batch:
                        await self._report([item])
                    return
                claim = batch[0][0]
                log.error("report: delivery tenant=%s id=%s: outcome refused (%s); its lease will expire and "
                          "it will be attempted again", claim.tenant, claim.delivery_id, one_line(exc))
                results = []
                break
        by_id = {(str(r["tenant"]), r["delivery_id"]): r for r in results}
        for claim, outcome, latency_ms in batch:
            verdict = by_id.get(claim.key, {}).get("outcome", "lease_lost")
            log.info("delivery tenant=%s id=%s transport=%s attempt=%s status=%s code=%s http=%s latency_ms=%s outcome=%s",
                     claim.tenant, claim.delivery_id, claim.transport, claim.attempt_number, outcome.status,
                     outcome.error_code or "-", outcome.status_code or "-", latency_ms if latency_ms is not None else "-",
                     verdict)
            self.metrics.reported(verdict)
            self._flights.pop(claim.key, None)
        self.stats.reported += len(batch)
        self._wake.set()            # capacity freed

    # -- shutdown -------------------------------------------------------------------------------
    async def _drain(self) -> None:
        """Stop: finish what is on the wire (bounded), give back the rest, report everything."""
        for f in self._flights.values():
            if f.task and not f.on_wire:
                f.task.cancel()            # waiting for a throttle slot: not attempted, released below
        pending = {f.task for f in self._flights.values() if f.task and f.on_wire and not f.task.done()}
        if pending:
            log.info("stopping: waiting up to %.0f s for %d sends on the wire", self.settings.shutdown_timeout, len(pending))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.settings.shutdown_timeout
            force = asyncio.create_task(self._force.wait())
            while pending and not self._force.is_set() and loop.time() < deadline:
                _, pending = await asyncio.wait(pending | {force}, timeout=deadline - loop.time(),
                                                return_when=asyncio.FIRST_COMPLETED)
                pending.discard(force)
            force.cancel()
        tasks = [f.task for f in self._flights.values() if f.task]
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Every finished send is reported before anything is released: a released delivery may be
        # claimed by another runner at once, so its outcome must not still be on its way.
        self._outcomes.put_nowait(None)
        await self._reporter_task
        unfinished = [delivery_id for (_, delivery_id) in self._flights]
        if unfinished:
            try:
                self.stats.released = await self._claim_db.release(unfinished)
            except (psycopg.Error, OSError):
                log.warning("stopping: could not release %d deliveries; their leases will expire", len(unfinished))
        self._flights.clear()
