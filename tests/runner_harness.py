"""Shared helpers for the runner tests: PostgreSQL, the sandbox and the runner, wired like demo.py.

* Stack: a migrated test database (the `dsn` fixture) plus a started Sandbox, with helpers that
  register a tenant, its users, bot conversations and webhooks on both sides (the sandbox, and
  msteams.upsert_integration / capture_conversation_reference / set_webhook in SQL), enqueue
  deliveries, read the ledger, and move time in the database.
* RunnerThread: a Runner on its own event loop in a background thread (stop, wake, join).
* RunnerProcess: `python -m pgteams.cli run …` as a subprocess, for signal tests.
* wait_until: poll a condition (database state) until it holds, or fail with a clear message.

Every delivery carries a unique marker (its internal_notification_id) inside the payload text the
sandbox records, so each recorded request maps back to exactly one delivery (marker_of).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pgteams.runner.config import Settings
from pgteams.sandbox import Sandbox
from pgteams.runner.worker import Runner

ROOT = Path(__file__).resolve().parent.parent
SEND_KINDS = ("graph", "bot", "webhook")


# --------------------------------------------------------------------------------------- waiting
def wait_until(fn: Callable[[], Any], timeout: float = 30.0, message: str = "condition",
               interval: float = 0.05) -> Any:
    """Poll fn() until it returns something truthy and return that; fail after `timeout` seconds.

    This waits for an event (a state the database or the sandbox reaches), it does not sleep for
    a duration: the interval only bounds how often the state is read.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message} (last value: {last!r})")
        time.sleep(interval)


# -------------------------------------------------------------------------------------- payloads
_MARKER = re.compile(r"\bpgt-[0-9a-f]{16}\b")


def new_marker() -> str:
    return f"pgt-{uuid.uuid4().hex[:16]}"


def feed(marker: str) -> dict:
    """A Graph activity feed notification whose preview text carries the marker."""
    return {"topic": {"source": "text", "value": f"Ticket {marker}", "webUrl": f"https://psa.example.com/t/{marker}"},
            "activityType": "systemDefault", "previewText": {"content": f"{marker} was assigned to you"},
            "templateParameters": [{"name": "systemDefaultText", "value": f"{marker} was assigned to you"}]}


def bot_message(marker: str) -> dict:
    """A Bot Framework message activity whose text carries the marker."""
    return {"type": "message", "text": f"Escalation {marker}: the customer is waiting"}


def card(marker: str) -> dict:
    """A Workflows webhook message with one Adaptive Card whose first TextBlock carries the marker."""
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                    "version": "1.5", "body": [{"type": "TextBlock", "text": f"Disk full: {marker}", "wrap": True}]}}]}


def marker_of(record) -> str | None:
    """The marker a recorded send request carries (None for token and discovery requests)."""
    body = record.body
    if record.kind not in SEND_KINDS or not isinstance(body, dict):
        return None
    try:
        if record.kind == "graph":
            text = body["previewText"]["content"]
        elif record.kind == "bot":
            text = body["text"]
        else:
            text = body["attachments"][0]["content"]["body"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return None
    m = _MARKER.search(str(text))
    return m.group(0) if m else None


def sends(records: Iterable, marker: str | None = None) -> list:
    """Recorded send requests (graph, bot, webhook), optionally only those carrying `marker`."""
    out = [r for r in records if r.kind in SEND_KINDS]
    if marker is not None:
        out = [r for r in out if marker_of(r) == marker]
    return out


def sends_by_marker(records: Iterable) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in records:
        m = marker_of(r)
        if m is not None:
            out.setdefault(m, []).append(r)
    return out


def issued_tokens(sb: Sandbox) -> list[str]:
    """Every access token the sandbox has issued and still knows (read from its state)."""
    state = sb._state        # test-only access: the tokens themselves are not part of the public API
    with state.lock:
        return list(state.tokens)


# -------------------------------------------------------------------------------------- the world
@dataclass
class Tenant:
    name: str
    tenant: str              # the host's tenant id (uuid)
    aad: str                 # the organisation's Entra tenant id
    client_id: str           # its Graph app
    bot_app_id: str          # its bot
    secret_env: str          # env var the runner reads the secret from (credential_ref env:NAME)
    secret: str              # the secret the sandbox knows
    users: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)
    webhooks: dict[str, str] = field(default_factory=dict)     # name -> URL (a secret)


@dataclass
class Enqueued:
    tenant: Tenant
    delivery_id: int
    status: str              # queued | skipped
    error_code: str | None
    marker: str
    transport: str


def _activity(t: Tenant, user: str, conversation: str, service_url: str, kind: str = "personal") -> dict:
    """An inbound Bot Framework activity, as the host's bot endpoint would capture it."""
    return {"type": "message", "id": f"act-{uuid.uuid4().hex[:8]}", "channelId": "msteams", "serviceUrl": service_url,
            "from": {"id": f"29:{user}", "aadObjectId": user}, "recipient": {"id": f"28:{t.bot_app_id}"},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": t.aad},
            "channelData": {"tenant": {"id": t.aad}}, "locale": "en-US", "text": "hi"}


class Stack:
    """A migrated database + a started sandbox, and the helpers to populate both."""

    def __init__(self, dsn: str, sandbox: Sandbox, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.dsn = dsn
        self.sb = sandbox
        self._env = env
        self.tmp_path = tmp_path
        self.db = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
        self.tenants: list[Tenant] = []
        self._runners: list = []
        self._n = 0

    # -- tenants, users, conversations, webhooks ------------------------------------------------
    def add_tenant(self, name: str | None = None, *, runner_secret: str | None = None,
                   install_status: str = "active") -> Tenant:
        """A tenant with its own Entra tenant id, Graph app, bot and secret, in the sandbox and in SQL.

        runner_secret: what the runner's env var holds (default: the sandbox's secret); pass another
        value to give the runner bad credentials.
        """
        self._n += 1
        name = name or f"tenant{self._n}"
        suffix = uuid.uuid4().hex[:8]
        secret = f"secret-{uuid.uuid4().hex}"
        t = Tenant(name=name, tenant=str(uuid.uuid4()), aad=str(uuid.uuid4()), client_id=f"{name}-graph-{suffix}",
                   bot_app_id=f"{name}-bot-{suffix}", secret_env=f"PGTEAMS_TEST_SECRET_{name.upper()}_{suffix}",
                   secret=secret)
        self._env.setenv(t.secret_env, runner_secret if runner_secret is not None else secret)
        self.sb.add_tenant(t.aad, client_id=t.client_id, client_secret=secret, bot_app_id=t.bot_app_id,
                           bot_secret=secret)
        self.db.execute("SELECT msteams.upsert_integration(%s, %s, true, %s, %s, %s, %s, NULL, %s)",
                        (t.tenant, install_status, t.aad, t.client_id, f"env:{t.secret_env}", t.bot_app_id,
                         f"teams-app-{name}"))
        self.tenants.append(t)
        return t

    def add_user(self, t: Tenant, user_id: str | None = None, *, app_installed: bool = True) -> str:
        user_id = user_id or str(uuid.uuid4())
        self.sb.add_user(t.aad, user_id, app_installed=app_installed)
        t.users.append(user_id)
        return user_id

    def add_conversation(self, t: Tenant, user: str | None = None, *, conversation_id: str | None = None,
                         capture: bool = True) -> str:
        """A personal bot conversation: registered in the sandbox with the tenant's bot in its roster,
        and its reference captured from an inbound activity (like the host's bot endpoint would)."""
        user = user or (t.users[0] if t.users else self.add_user(t))
        conv = conversation_id or f"a:{uuid.uuid4().hex}"
        service_url = self.sb.add_conversation(t.aad, conv, bot_app_ids=[t.bot_app_id])
        if capture:
            self.capture(t, user, conv, service_url)
        t.conversations.append(conv)
        return conv

    def capture(self, t: Tenant, user: str, conversation: str, service_url: str | None = None) -> str:
        """msteams.capture_conversation_reference with a realistic inbound message activity."""
        service_url = service_url or f"{self.sb.url}/bot/amer/"
        row = self.db.execute("SELECT msteams.capture_conversation_reference(%s, %s) AS r",
                              (t.tenant, Jsonb(_activity(t, user, conversation, service_url)))).fetchone()
        return row["r"]

    def add_webhook(self, t: Tenant, name: str | None = None) -> str:
        name = name or f"room-{len(t.webhooks) + 1}"
        url = self.sb.add_webhook(t.aad)
        self.db.execute("SELECT msteams.set_webhook(%s, %s, %s)", (t.tenant, name, url))
        t.webhooks[name] = url
        return name

    # -- enqueue ----------------------------------------------------------------------------------
    @staticmethod
    def item(transport: str, destination: str, marker: str | None = None, *, category: str = "assignment",
             priority: str = "medium", **extra) -> dict:
        """One delivery for enqueue_notifications: graph → user_activity, bot → chat, webhook → webhook."""
        marker = marker or new_marker()
        dtype, payload = {"graph": ("user_activity", feed), "bot": ("chat", bot_message),
                          "webhook": ("webhook", card)}[transport]
        return {"category": category, "priority": priority, "destination_type": dtype, "destination_id": destination,
                "payload": payload(marker), "internal_notification_id": marker, **extra}

    def enqueue(self, t: Tenant, transport: str, destination: str, marker: str | None = None, **kw) -> Enqueued:
        return self.enqueue_many(t, [self.item(transport, destination, marker, **kw)])[0]

    def enqueue_many(self, t: Tenant, items: list[dict]) -> list[Enqueued]:
        rows = self.db.execute("SELECT * FROM msteams.enqueue_notifications(%s, %s)", (t.tenant, Jsonb(items))).fetchall()
        transports = {"user_activity": "graph", "chat": "bot", "webhook": "webhook"}
        return [Enqueued(t, r["delivery_id"], r["status"], r["error_code"], it["internal_notification_id"],
                         transports[it["destination_type"]]) for r, it in zip(rows, items)]

    # -- the runner -------------------------------------------------------------------------------
    def settings(self, **overrides) -> Settings:
        values = dict(worker_id=f"test-{uuid.uuid4().hex[:8]}", poll_interval=0.5, throttle=False,
                      shutdown_timeout=10.0, http_timeout=10.0, maintenance_interval=0.0)
        values.update(overrides)
        return Settings.for_sandbox(self.dsn, self.sb.url, self.sb.ca_file, **values)

    def runner_thread(self, **overrides) -> "RunnerThread":
        r = RunnerThread(self.settings(**overrides))
        self._runners.append(r)
        return r.start()

    def runner_process(self, **options) -> "RunnerProcess":
        p = RunnerProcess(self, **options)
        self._runners.append(p)
        return p.start()

    # -- database state ---------------------------------------------------------------------------
    def ledger(self, delivery_id: int) -> list[dict]:
        return self.db.execute(
            "SELECT * FROM msteams.notification_deliveries WHERE delivery_id = %s ORDER BY attempt_number, ledger_id",
            (delivery_id,)).fetchall()

    def outbox_row(self, delivery_id: int) -> dict | None:
        return self.db.execute("SELECT * FROM msteams.outbox WHERE delivery_id = %s", (delivery_id,)).fetchone()

    def finals(self, delivery_ids: list[int]) -> dict[int, list[dict]]:
        """delivery_id -> its final ledger rows (exactly one each once a delivery is done)."""
        rows = self.db.execute(
            "SELECT * FROM msteams.notification_deliveries WHERE final AND delivery_id = ANY(%s) ORDER BY ledger_id",
            (list(delivery_ids),)).fetchall()
        out: dict[int, list[dict]] = {}
        for r in rows:
            out.setdefault(r["delivery_id"], []).append(r)
        return out

    def count_final(self, delivery_ids: list[int]) -> int:
        return self.db.execute(
            "SELECT count(DISTINCT delivery_id) AS n FROM msteams.notification_deliveries "
            "WHERE final AND delivery_id = ANY(%s)", (list(delivery_ids),)).fetchone()["n"]

    def wait_final(self, delivery_ids: list[int], timeout: float = 60.0, message: str | None = None) -> dict:
        ids = list(delivery_ids)
        wait_until(lambda: self.count_final(ids) == len(ids), timeout,
                   message or f"{len(ids)} deliveries to reach a final ledger row",
                   interval=0.05 if len(ids) <= 100 else 0.25)
        return self.finals(ids)

    def wait_ledger_rows(self, delivery_id: int, n: int, timeout: float = 30.0) -> list[dict]:
        return wait_until(lambda: (lambda rows: rows if len(rows) >= n else None)(self.ledger(delivery_id)),
                          timeout, f"delivery {delivery_id} to have {n} ledger row(s)")

    def make_due(self, delivery_ids: list[int] | None = None) -> int:
        """Move time: deliveries waiting for a retry (not leased) become due now."""
        cur = self.db.execute(
            "UPDATE msteams.outbox SET available_at = now() WHERE locked_by IS NULL AND available_at > now() "
            "AND (%s::bigint[] IS NULL OR delivery_id = ANY(%s::bigint[]))", (delivery_ids, delivery_ids))
        return cur.rowcount

    def end_throttle_pauses(self, t: Tenant) -> int:
        """Move time: the throttle pauses (Retry-After) of tenant t are over."""
        cur = self.db.execute("UPDATE msteams.throttle_pauses SET paused_until = now() "
                              "WHERE tenant = %s AND paused_until > now()", (t.tenant,))
        return cur.rowcount

    def expire_leases(self, worker_id: str) -> int:
        """Move time: the leases `worker_id` holds have run out."""
        cur = self.db.execute("UPDATE msteams.outbox SET available_at = now() WHERE locked_by = %s", (worker_id,))
        return cur.rowcount

    def locked_by(self, worker_id: str) -> int:
        return self.db.execute("SELECT count(*) AS n FROM msteams.outbox WHERE locked_by = %s",
                               (worker_id,)).fetchone()["n"]

    def outbox_count(self) -> int:
        return self.db.execute("SELECT count(*) AS n FROM msteams.outbox").fetchone()["n"]

    def reconnect(self) -> None:
        """A new superuser connection (after the server was restarted)."""
        self.db.close()
        self.db = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)

    def close(self) -> None:
        errors = []
        for r in reversed(self._runners):
            try:
                r.close()
            except Exception as exc:      # noqa: BLE001 - report after every runner is stopped
                errors.append(exc)
        self.db.close()
        if errors:
            raise errors[0]


# ------------------------------------------------------------------------------------ the runner
class _ObservedRunner(Runner):
    """The real Runner, telling the test thread when it goes idle with nothing to do."""

    def __init__(self, settings: Settings, observer: "RunnerThread") -> None:
        super().__init__(settings, install_signal_handlers=False)
        self._observer = observer

    async def _idle(self, queue_empty: bool) -> None:
        # Idle, listening, and no wake pending: only a NOTIFY (or the poll interval) ends this.
        if queue_empty and not self._wake.is_set() and self.listener is not None and self.listener.connected.is_set():
            self._observer.idle.set()
        await super()._idle(queue_empty)


class RunnerThread:
    """Runner(settings).run() on its own event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker_id = settings.worker_id
        self.runner: _ObservedRunner | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()       # the first claim ran
        self.idle = threading.Event()        # went idle while listening, nothing pending (cleared by the test)
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"runner:{self.worker_id}", daemon=True)

    def start(self) -> "RunnerThread":
        self._thread.start()
        self._up.wait(10)
        if self.error is not None:
            raise self.error
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            self.runner = _ObservedRunner(self.settings, self)
            self._up.set()
            self.exit_code = loop.run_until_complete(self._run())
        except BaseException as exc:          # noqa: BLE001 - surfaced by join()
            self.error = exc
        finally:
            self._up.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _run(self) -> int:
        async def watch() -> None:
            await self.runner.ready.wait()
            self.ready.set()

        watcher = asyncio.create_task(watch())
        try:
            return await self.runner.run()
        finally:
            watcher.cancel()

    def _call(self, fn: Callable[[], None]) -> None:
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(fn)
            except RuntimeError:              # the loop closed meanwhile
                pass

    @property
    def listener(self):
        return self.runner.listener if self.runner else None

    def wait_ready(self, timeout: float = 30.0) -> "RunnerThread":
        """Wait until the first claim ran and the listener is LISTENing."""
        wait_until(lambda: self.ready.is_set() or self.error or not self._thread.is_alive(), timeout,
                   f"runner {self.worker_id} to run its first claim")
        self._raise()
        wait_until(lambda: (self.listener is not None and self.listener.connected.is_set()) or self.error,
                   timeout, f"runner {self.worker_id}'s listener to connect")
        self._raise()
        return self

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the runner is idle: listening, its last claim found nothing, no wake pending."""
        if not self.idle.wait(timeout):
            self._raise()
            raise AssertionError(f"runner {self.worker_id} did not go idle within {timeout:.0f} s")

    def wake(self) -> None:
        self._call(lambda: self.runner.wake())

    def stop(self, force: bool = False) -> None:
        self._call(lambda: self.runner.stop())
        if force:
            self._call(lambda: self.runner.stop())

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def join(self, timeout: float = 60.0) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"runner {self.worker_id} did not stop within {timeout:.0f} s")
        self._raise()
        return self.exit_code

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop (giving back in-flight work at once) and surface anything the thread raised."""
        if self._thread.is_alive():
            self.stop(force=True)
            self._thread.join(30)
        self._raise()


class RunnerProcess:
    """`python -m pgteams.cli run …` against the stack, as a subprocess (signal tests)."""

    def __init__(self, stack: Stack, *, worker_id: str | None = None, log_level: str = "INFO",
                 concurrency: int | None = None, batch_size: int | None = None, lease_seconds: float | None = None,
                 poll_interval: float = 0.5, shutdown_timeout: float | None = None, http_timeout: float | None = None,
                 service_url_hosts: tuple[str, ...] = ("127.0.0.1",), webhook_hosts: tuple[str, ...] = ("127.0.0.1",)):
        self.worker_id = worker_id or f"proc-{uuid.uuid4().hex[:8]}"
        sb = stack.sb
        argv = [sys.executable, "-m", "pgteams.cli", "run", "--dsn", stack.dsn, "--worker-id", self.worker_id,
                "--ca-file", sb.ca_file, "--login-authority-host", sb.url, "--graph-base", f"{sb.url}/graph/v1.0",
                "--no-throttle", "--poll-interval", str(poll_interval), "--log-level", log_level]
        for host in service_url_hosts:
            argv += ["--service-url-host", host]
        for host in webhook_hosts:
            argv += ["--webhook-host", host]
        for flag, value in (("--concurrency", concurrency), ("--batch-size", batch_size),
                            ("--lease-seconds", lease_seconds), ("--shutdown-timeout", shutdown_timeout),
                            ("--http-timeout", http_timeout)):
            if value is not None:
                argv += [flag, str(value)]
        self.argv = argv
        self.env = dict(os.environ)           # holds the tenants' secrets (set through monkeypatch)
        self.env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "runner"), self.env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.env["PGTEAMS_MAINTENANCE_INTERVAL"] = "0"
        self.shutdown_timeout = shutdown_timeout if shutdown_timeout is not None else 20.0
        self._out_path = stack.tmp_path / f"{self.worker_id}.stdout"
        self._err_path = stack.tmp_path / f"{self.worker_id}.stderr"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RunnerProcess":
        self._out = open(self._out_path, "wb")
        self._err = open(self._err_path, "wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._out, stderr=self._err, cwd=str(ROOT))
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"runner process {self.worker_id} did not exit within {timeout:.0f} s\n"
                                 f"{self.output()[-4000:]}") from None

    def stdout(self) -> str:
        self._out.flush()
        return self._out_path.read_text(errors="replace")

    def stderr(self) -> str:
        self._err.flush()
        return self._err_path.read_text(errors="replace")

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None and not f.closed:
                f.close()


# -------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def sandbox():
    with Sandbox(enforce_limits=False) as sb:
        yield sb


@pytest.fixture
def stack(dsn: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    s = Stack(dsn, sandbox, monkeypatch, tmp_path)
    try:
        yield s
    finally:
        s.close()
