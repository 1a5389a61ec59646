"""End to end: runner + sandbox + PostgreSQL together, on one machine.

1. Throughput: drain N deliveries (default 100,000) across 50 tenants, no throttling (the sandbox
   enforces no limits, the runner does not pace), against the SQL-only ceiling measured in the
   same run: claim 100 → complete_deliveries(100) with no HTTP at all.
2. Latency at low load: enqueue → sent p50/p95 (ledger timestamps) with LISTEN/NOTIFY, against a
   polling-only runner (1 s poll).

    .venv/bin/python bench/bench_e2e.py [--deliveries 100000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import threading
import time
import uuid

from _common import bench_database, machine_line, rate, report  # noqa: E402  (sets sys.path)
from _sandbox_process import SandboxProcess  # noqa: E402

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from pgteams.runner.config import Settings  # noqa: E402
from pgteams.runner.worker import Runner  # noqa: E402

TENANTS = 50


def payload(i: int) -> dict:
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": f"n{i}"}]}}]}


def setup_tenants(conn, sb: SandboxProcess) -> list[str]:
    """50 tenants with their own credentials; each delivers to its own webhook (no token needed
    for a webhook, so a Graph user and a bot conversation per tenant are mixed in too)."""
    tenants = []
    config = {"tenants": [], "users": [], "conversations": []}
    for t in range(TENANTS):
        tenant, aad, app = str(uuid.uuid4()), str(uuid.uuid4()), f"e2e-app-{t}"
        os.environ[f"E2E_SECRET_{t}"] = f"s{t}"
        config["tenants"].append({"aad_tenant_id": aad, "client_id": app, "client_secret": f"s{t}", "bot_app_id": app})
        config["users"].append({"aad_tenant_id": aad, "user_id": f"{t:08d}-0000-4000-8000-000000000000"})
        config["conversations"].append({"aad_tenant_id": aad, "conversation_id": f"a:e2e-{t}", "bot_app_ids": [app]})
        tenants.append((tenant, aad, app, t))
    sb.load(config)
    for tenant, aad, app, t in tenants:
        conn.execute("SELECT msteams.upsert_integration(%s, 'active', true, %s, %s, %s, %s)",
                     (tenant, aad, app, f"env:E2E_SECRET_{t}", app))
        conn.execute("SELECT msteams.set_webhook(%s, 'ops', %s)", (tenant, sb.add_webhook(aad)))
        conn.execute("SELECT msteams.upsert_conversation_reference(%s, 'u', %s, %s, 'personal')",
                     (tenant, f"a:e2e-{t}", f"{sb.url}/bot/amer/"))
    return [t[0] for t in tenants]


def enqueue(conn, tenants: list[str], n: int, start: int = 0) -> None:
    per = n // len(tenants)
    for ti, tenant in enumerate(tenants):
        items = []
        for i in range(per):
            k = start + ti * per + i
            kind = k % 3
            if kind == 0:
                items.append({"category": "assignment", "priority": "medium", "destination_type": "webhook",
                              "destination_id": "ops", "payload": payload(k), "internal_notification_id": f"e{k}"})
            elif kind == 1:
                items.append({"category": "assignment", "priority": "medium", "destination_type": "user_activity",
                              "destination_id": f"{ti:08d}-0000-4000-8000-000000000000",
                              "payload": {"topic": {"source": "entityUrl", "value": "x"}, "activityType": "systemDefault",
                                          "previewText": {"content": f"e{k}"}},
                              "internal_notification_id": f"e{k}"})
            else:
                items.append({"category": "assignment", "priority": "medium", "destination_type": "chat",
                              "destination_id": f"a:e2e-{ti}", "payload": {"type": "message", "text": f"e{k}"},
                              "internal_notification_id": f"e{k}"})
        for j in range(0, len(items), 1000):
            conn.execute("SELECT count(*) FROM msteams.enqueue_notifications(%s, %s)",
                         (tenant, Jsonb(items[j:j + 1000])), binary=True)


class RunnerThread:
    def __init__(self, settings: Settings, profile: bool = False) -> None:
        self.runner = Runner(settings, install_signal_handlers=False)
        self.loop = asyncio.new_event_loop()
        self.profile = cProfile.Profile() if profile else None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        if self.profile:
            self.profile.enable()
        self.loop.run_until_complete(self.runner.run())
        if self.profile:
            self.profile.disable()

    def start(self) -> "RunnerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.runner.stop)
        self.thread.join(60)


def cpu_seconds(pids) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if open(f"/proc/{entry}/comm").read().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def outbox_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM msteams.outbox").fetchone()[0]


def sql_ceiling(dsn: str, tenants: list[str], n: int) -> float:
    """claim 100 → complete_deliveries(100 outcomes) → repeat, one session, no HTTP."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        enqueue(conn, tenants, n, start=10_000_000)
        t0 = time.perf_counter()
        done = 0
        while True:
            rows = conn.execute("SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries('ceiling', 100)").fetchall()
            if not rows:
                break
            outcomes = [{"tenant": str(t), "delivery_id": d, "lease_id": str(l), "status": "sent", "status_code": 202}
                        for t, d, l in rows]
            conn.execute("SELECT count(*) FROM msteams.complete_deliveries('ceiling', %s)", (Jsonb(outcomes),), binary=True)
            done += len(rows)
        return done / (time.perf_counter() - t0)


def drain(dsn: str, sb: SandboxProcess, tenants: list[str], n: int, profile: bool) -> tuple[float, RunnerThread]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        print(f"  enqueueing {n:,} deliveries …", flush=True)
        enqueue(conn, tenants, n)
        total = outbox_count(conn)
        settings = sb.runner_settings(dsn, throttle=False, concurrency=128, batch_size=200,
                            maintenance_interval=0, poll_interval=1.0, worker_id="e2e")
        rt = RunnerThread(settings, profile).start()
        t0 = time.perf_counter()
        cpu0 = {"runner": cpu_seconds([os.getpid()]), "sandbox": cpu_seconds([sb.pid]),
                "postgres": cpu_seconds(postgres_pids())}
        last = total
        while True:
            time.sleep(1.0)          # a benchmark: sample progress once a second
            left = outbox_count(conn)
            if (last - left) * 10 >= total or (left == 0 and last):      # progress every 10 %
                print(f"  {total - left:,} / {total:,} sent after {time.perf_counter() - t0:.0f} s", flush=True)
                last = left
            if left == 0:
                break
        elapsed = time.perf_counter() - t0
        cpu = {"runner": cpu_seconds([os.getpid()]) - cpu0["runner"],
               "sandbox": cpu_seconds([sb.pid]) - cpu0["sandbox"],
               "postgres": cpu_seconds(postgres_pids()) - cpu0["postgres"]}
        rt.stop()
        lost = conn.execute("""SELECT count(*) FROM msteams.idempotency_keys k WHERE k.scope = 'enqueue'
                                 AND NOT EXISTS (SELECT 1 FROM msteams.notification_deliveries d
                                                  WHERE d.tenant = k.tenant AND d.delivery_id = k.ref_id AND d.final)
                                 AND k.idempotency_key NOT LIKE 'ceiling%%'""").fetchone()[0]
    return total / elapsed, rt, lost, {k: v * 1e6 / total for k, v in cpu.items()}


def latency(dsn: str, sb: SandboxProcess, tenant: str, listen: bool, n: int = 150) -> list[float]:
    settings = sb.runner_settings(dsn, throttle=False, listen=listen, poll_interval=1.0,
                        maintenance_interval=0, worker_id=f"lat-{listen}")
    rt = RunnerThread(settings).start()
    while not rt.runner.ready.is_set():
        time.sleep(0.05)
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(n):
            conn.execute("SELECT msteams.enqueue_notification(%s, 'assignment', 'medium', 'webhook', 'ops', %s, %s)",
                         (tenant, Jsonb(payload(i)), f"lat-{tag}-{i}"))
            time.sleep(0.05)         # low load: one every 50 ms
        while conn.execute("SELECT count(*) FROM msteams.outbox").fetchone()[0]:
            time.sleep(0.2)
        rt.stop()
        rows = conn.execute("""SELECT extract(epoch FROM sent_at - enqueued_at) * 1000 FROM msteams.notification_deliveries
                                WHERE internal_notification_id LIKE %s AND status = 'sent'""", (f"lat-{tag}-%",)).fetchall()
    return sorted(float(r[0]) for r in rows)


def pct(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the runner during the drain")
    args = parser.parse_args()
    with bench_database() as dsn, SandboxProcess(enforce_limits=False) as sb:
        print(machine_line(dsn))
        with psycopg.connect(dsn, autocommit=True) as conn:
            tenants = setup_tenants(conn, sb)
        ceiling = sql_ceiling(dsn, tenants, min(args.deliveries, 50_000))
        e2e, rt, lost, cpu = drain(dsn, sb, tenants, args.deliveries, args.profile)
        listen = latency(dsn, sb, tenants[0], True)
        poll = latency(dsn, sb, tenants[0], False)
    report(f"Throughput: {args.deliveries:,} deliveries, {TENANTS} tenants, webhook/Graph/bot mixed, no throttling", [
        ("SQL-only claim/complete (ceiling)", f"{ceiling:,.0f} deliveries/s"),
        ("runner + sandbox + PostgreSQL", f"{e2e:,.0f} deliveries/s"),
        ("ratio to the ceiling", f"{e2e / ceiling:.2f} (target ≥ 0.5)"),
        ("deliveries without a final ledger row", f"{lost}"),
        ("CPU per delivery (µs)", ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items())
                                    + " — the 2 cores are shared by all three"),
    ])
    report("Latency enqueue → sent at low load (one every 50 ms)", [
        ("LISTEN/NOTIFY", f"p50 {statistics.median(listen):.0f} ms, p95 {pct(listen, 0.95):.0f} ms (n={len(listen)})"),
        ("polling only, 1 s", f"p50 {statistics.median(poll):.0f} ms, p95 {pct(poll, 0.95):.0f} ms (n={len(poll)})"),
        ("p50 ratio", f"{statistics.median(poll) / max(statistics.median(listen), 0.001):.1f}× faster with LISTEN"),
    ])
    if args.profile:
        out = io.StringIO()
        pstats.Stats(rt.profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
