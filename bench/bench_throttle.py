"""Throttling at Microsoft's published limits, under sustained load above them.

pgteams (runner pacing on) against naive sending (pacing off), in the same run, against the
sandbox enforcing the same limits. For each kind of scope: deliveries accepted per second against
the most the limits allow in the measured window, and the share of requests answered 429.
Target: at least 95 % of the allowed rate with at most 1 % of requests answered 429.

    .venv/bin/python bench/bench_throttle.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
import uuid

from _common import bench_database, machine_line, report  # noqa: E402  (sets sys.path)
from _sandbox_process import SandboxProcess  # noqa: E402

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from pgteams.limits import MICROSOFT_LIMITS  # noqa: E402
from pgteams.runner.worker import Runner  # noqa: E402

GRAPH_TENANTS, CONVERSATIONS, WEBHOOKS = 4, 2, 2


def allowed(windows, seconds: float) -> int:
    """The most requests a scope with these sliding windows accepts in `seconds` (greedy, exact)."""
    sent: list[float] = []
    t = 0.0
    while True:
        for n, w in windows:
            if len(sent) >= n:
                t = max(t, sent[-n] + w)
        if t >= seconds:
            return len(sent)
        sent.append(t)


def feed(i: int) -> dict:
    return {"topic": {"source": "entityUrl", "value": "x"}, "activityType": "systemDefault",
            "previewText": {"content": f"n{i}"}}


def card(i: int) -> dict:
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": f"n{i}"}]}}]}


def setup(conn, sb: SandboxProcess, seconds: float) -> dict:
    """Tenants, destinations and a backlog of about twice what the limits allow in `seconds`."""
    tag = uuid.uuid4().hex[:6]
    plan = {"graph": [], "bot": [], "webhook": []}
    counter = 0
    for g in range(GRAPH_TENANTS):
        tenant, aad, app = str(uuid.uuid4()), str(uuid.uuid4()), f"app-{tag}-{g}"
        os.environ[f"BENCH_SECRET_{tag}_{g}"] = "s"
        sb.add_tenant(aad, client_id=app, client_secret="s", bot_app_id=app)
        conn.execute("SELECT msteams.upsert_integration(%s, 'active', true, %s, %s, %s, %s)",
                     (tenant, aad, app, f"env:BENCH_SECRET_{tag}_{g}", app))
        items = []
        n = int(5 * seconds * 2)
        users = [f"{i:08d}-0000-4000-8000-{g:012d}" for i in range(n)]   # each far under 10 a minute
        sb.load({"users": [{"aad_tenant_id": aad, "user_id": u} for u in users]})
        for i, user in enumerate(users):
            counter += 1
            items.append({"category": "assignment", "priority": "medium", "destination_type": "user_activity",
                          "destination_id": user, "payload": feed(counter), "internal_notification_id": f"n{counter}"})
        conn.execute("SELECT count(*) FROM msteams.enqueue_notifications(%s, %s)", (tenant, Jsonb(items)))
        plan["graph"].append((aad, n))
        if g == 0:
            for c in range(CONVERSATIONS):
                conv = f"a:{tag}-{c}"
                url = sb.add_conversation(aad, conv, [app])
                conn.execute("SELECT msteams.upsert_conversation_reference(%s, %s, %s, %s, 'personal')",
                             (tenant, f"user-{c}", conv, url))
                m = int(4 * seconds)
                items = [{"category": "escalation", "priority": "high", "destination_type": "chat",
                          "destination_id": conv, "payload": {"type": "message", "text": f"c{c}-{i}"},
                          "internal_notification_id": f"{tag}-c{c}-{i}"} for i in range(m)]
                conn.execute("SELECT count(*) FROM msteams.enqueue_notifications(%s, %s)", (tenant, Jsonb(items)))
                plan["bot"].append((conv, m))
            for w in range(WEBHOOKS):
                conn.execute("SELECT msteams.set_webhook(%s, %s, %s)", (tenant, f"hook-{w}", sb.add_webhook(aad)))
                m = int(4 * seconds * 2)
                items = [{"category": "sla_risk", "priority": "high", "destination_type": "webhook",
                          "destination_id": f"hook-{w}", "payload": card(i),
                          "internal_notification_id": f"{tag}-w{w}-{i}"} for i in range(m)]
                conn.execute("SELECT count(*) FROM msteams.enqueue_notifications(%s, %s)", (tenant, Jsonb(items)))
                plan["webhook"].append((f"hook-{w}", m))
    return plan


def run_phase(dsn: str, sb: SandboxProcess, throttle: bool, seconds: float) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        setup(conn, sb, seconds)
    sb.reset_records()
    sb.reset_limits()
    settings = sb.runner_settings(dsn, throttle=throttle,
                        poll_interval=0.5, concurrency=64, maintenance_interval=0, worker_id=f"bench-{throttle}")
    runner = Runner(settings, install_signal_handlers=False)
    loop = asyncio.new_event_loop()
    done = threading.Event()

    def serve():
        loop.run_until_complete(runner.run())
        done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while not runner.ready.is_set():
        time.sleep(0.05)
    time.sleep(seconds + 3)          # a benchmark: let it run for the measured window
    loop.call_soon_threadsafe(runner.stop)
    loop.call_soon_threadsafe(runner.stop)     # second signal: give back at once
    done.wait(60)
    with psycopg.connect(dsn, autocommit=True) as conn:     # the next phase starts from an empty queue
        conn.execute("DELETE FROM msteams.outbox")
        conn.execute("DELETE FROM msteams.throttle_pauses")
    sends = sb.requests()
    t0 = min(r.monotonic for r in sends)
    window = [r for r in sends if r.monotonic - t0 < seconds]
    result = {}
    for kind, limit in (("graph", "graph.activity_feed.per_app_per_tenant"),
                        ("bot", "bot.send.per_bot_per_conversation"), ("webhook", "webhook.per_url")):
        scopes = GRAPH_TENANTS if kind == "graph" else (CONVERSATIONS if kind == "bot" else WEBHOOKS)
        ok = sum(1 for r in window if r.kind == kind and 200 <= r.status < 300)
        throttled = sum(1 for r in window if r.kind == kind and r.status == 429)
        cap = allowed(MICROSOFT_LIMITS[limit].windows, seconds) * scopes
        result[kind] = (ok, throttled, cap)
    total = len(window)
    result["all"] = (sum(v[0] for v in result.values()), sum(1 for r in window if r.status == 429), total)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="measured window per phase")
    args = parser.parse_args()
    with bench_database() as dsn, SandboxProcess(enforce_limits=True) as sb:
        print(machine_line(dsn))
        print("the sandbox runs in its own process; its arrival times are the clock the limits are counted on")
        phases = {"pgteams": run_phase(dsn, sb, True, args.seconds),
                  "naive": run_phase(dsn, sb, False, args.seconds)}
    for name, res in phases.items():
        rows = []
        for kind in ("graph", "bot", "webhook"):
            ok, throttled, cap = res[kind]
            rows.append((f"{kind} ({cap} allowed in {args.seconds:.0f} s)",
                         f"{ok} accepted = {ok / cap:.1%} of allowed, {throttled} answered 429"))
        ok, throttled, total = res["all"]
        rows.append(("all requests", f"{total}, of which 429: {throttled} = {throttled / max(total, 1):.2%}"))
        report(f"{name}: {'runner paces at the limits' if name == 'pgteams' else 'no pacing (baseline)'}", rows)
    p, n = phases["pgteams"], phases["naive"]
    share = sum(p[k][0] for k in ("graph", "bot", "webhook")) / sum(p[k][2] for k in ("graph", "bot", "webhook"))
    rate429 = p["all"][1] / max(p["all"][2], 1)
    naive429 = n["all"][1] / max(n["all"][2], 1)
    report("Target: ≥ 95 % of the allowed rate, ≤ 1 % answered 429", [
        ("pgteams", f"{share:.1%} of allowed, {rate429:.2%} answered 429 → "
                    f"{'met' if share >= 0.95 and rate429 <= 0.01 else 'NOT met'}"),
        ("naive baseline", f"{n['all'][0] / sum(n[k][2] for k in ('graph', 'bot', 'webhook')):.1%} of allowed, "
                           f"{naive429:.2%} answered 429")])


if __name__ == "__main__":
    main()
