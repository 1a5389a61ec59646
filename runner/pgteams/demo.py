"""`pgteams demo`: the whole loop on an embedded default, in one command.

A throw-away PostgreSQL (or --dsn), the Microsoft sandbox over HTTPS on loopback, three tenants
(two organisations with their own Entra apps and secrets, one inactive), a realistic mixed batch
over every destination type — including a conversation whose bot was removed, a throttled
tenant, a broken webhook and a user without the app — then the runner until the outbox drains,
and a per-tenant account of what happened, read from the ledger views.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass

import click
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .runner.config import Settings
from .ops.migrate import migrate
from .sandbox import Fault, Sandbox
from .runner.worker import Runner


@dataclass
class DemoTenant:
    name: str
    tenant: str          # the host's tenant id
    aad: str             # the organisation's Entra tenant id
    client_id: str
    bot_app_id: str
    secret_env: str
    active: bool = True


def _feed(text: str, ticket: int) -> dict:
    return {"topic": {"source": "text", "value": f"Ticket {ticket}", "webUrl": f"https://psa.example.com/tickets/{ticket}"},
            "activityType": "systemDefault", "previewText": {"content": text},
            "templateParameters": [{"name": "systemDefaultText", "value": text}]}


def _bot(text: str) -> dict:
    return {"type": "message", "text": text}


def _card(title: str) -> dict:
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                    "version": "1.5", "body": [{"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True}]}}]}


def _delivery(category, priority, dtype, did, payload, inid, **extra) -> dict:
    return {"category": category, "priority": priority, "destination_type": dtype, "destination_id": did,
            "payload": payload, "internal_notification_id": inid, **extra}


def _activity(t: DemoTenant, user: str, conversation: str, service_url: str, kind: str = "personal") -> dict:
    """An inbound Bot Framework activity, as the host's bot endpoint would capture it."""
    return {"type": "message", "id": f"act-{uuid.uuid4().hex[:8]}", "channelId": "msteams", "serviceUrl": service_url,
            "from": {"id": f"29:{user}", "aadObjectId": user}, "recipient": {"id": f"28:{t.bot_app_id}"},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": t.aad},
            "channelData": {"tenant": {"id": t.aad}}, "locale": "en-US"}


class Demo:
    def __init__(self, dsn: str, sandbox: Sandbox, echo=click.echo) -> None:
        self.dsn = dsn
        self.sb = sandbox
        self.echo = echo
        run = uuid.uuid4().hex[:6]
        self.tenants = [
            DemoTenant("Contoso", str(uuid.uuid4()), str(uuid.uuid4()), f"contoso-graph-{run}", f"contoso-bot-{run}",
                       "PGTEAMS_DEMO_CONTOSO_SECRET"),
            DemoTenant("Fabrikam", str(uuid.uuid4()), str(uuid.uuid4()), f"fabrikam-graph-{run}", f"fabrikam-bot-{run}",
                       "PGTEAMS_DEMO_FABRIKAM_SECRET"),
            DemoTenant("Northwind", str(uuid.uuid4()), str(uuid.uuid4()), f"northwind-graph-{run}",
                       f"northwind-bot-{run}", "PGTEAMS_DEMO_NORTHWIND_SECRET", active=False),
        ]
        self.total = 0

    # -- the world ------------------------------------------------------------------------------
    def setup(self, conn: psycopg.Connection) -> None:
        contoso, fabrikam, northwind = self.tenants
        for t in self.tenants:
            secret = secrets.token_urlsafe(24)          # each organisation its own secret, in memory only
            os.environ[t.secret_env] = secret
            self.sb.add_tenant(t.aad, client_id=t.client_id, client_secret=secret, bot_app_id=t.bot_app_id,
                               bot_secret=secret)
            conn.execute("SELECT msteams.upsert_integration(%s, %s, true, %s, %s, %s, %s, NULL, %s)",
                         (t.tenant, "active" if t.active else "inactive", t.aad, t.client_id, f"env:{t.secret_env}",
                          t.bot_app_id, f"teams-app-{t.name.lower()}"))
        # Contoso: 20 people with the app, 5 of them chatting with the bot (one removed it), an SRE channel.
        self.contoso_users = [f"{i:08d}-0000-4000-8000-c000000000{i:02d}" for i in range(20)]
        for u in self.contoso_users:
            self.sb.add_user(contoso.aad, u)
        self.contoso_chats = []
        for u in self.contoso_users[:5]:
            conv = f"a:{uuid.uuid4().hex}"
            url = self.sb.add_conversation(contoso.aad, conv, bot_app_ids=[contoso.bot_app_id])
            conn.execute("SELECT msteams.capture_conversation_reference(%s, %s)", (contoso.tenant, Jsonb(_activity(contoso, u, conv, url))))
            self.contoso_chats.append(conv)
        self.removed_chat = self.contoso_chats[4]
        self.sb.remove_bot(self.removed_chat, contoso.bot_app_id)        # the user removed the bot since
        self.channel = f"19:{uuid.uuid4().hex}@thread.tacv2"
        url = self.sb.add_conversation(contoso.aad, self.channel, bot_app_ids=[contoso.bot_app_id],
                                       conversation_type="channel", region="emea")
        conn.execute("SELECT msteams.capture_conversation_reference(%s, %s)",
                     (contoso.tenant, Jsonb(_activity(contoso, self.contoso_users[0], self.channel, url, "channel"))))
        conn.execute("SELECT msteams.set_webhook(%s, 'sre-room', %s)", (contoso.tenant, self.sb.add_webhook(contoso.aad)))
        conn.execute("SELECT msteams.set_route(%s, 'sre', %s)", (contoso.tenant, Jsonb([
            {"destination_type": "webhook", "destination_id": "sre-room"},
            {"destination_type": "channel", "destination_id": self.channel}])))
        # Fabrikam: 30 people (3 without the app), a working and a deleted webhook, and a 429 storm.
        self.fabrikam_users = [f"{i:08d}-0000-4000-8000-f000000000{i:02d}" for i in range(30)]
        for i, u in enumerate(self.fabrikam_users):
            self.sb.add_user(fabrikam.aad, u, app_installed=i >= 3)
        conn.execute("SELECT msteams.set_webhook(%s, 'helpdesk', %s)", (fabrikam.tenant, self.sb.add_webhook(fabrikam.aad)))
        broken = self.sb.add_webhook(fabrikam.aad)
        conn.execute("SELECT msteams.set_webhook(%s, 'old-room', %s)", (fabrikam.tenant, broken))
        self.sb.remove_webhook(broken)                                     # the workflow was deleted
        self.sb.fault(Fault("throttle", tenant=fabrikam.aad, endpoint="graph", count=3, retry_after=2))

    def enqueue(self, conn: psycopg.Connection) -> dict[str, int]:
        contoso, fabrikam, northwind = self.tenants
        batches: dict[str, list[dict]] = {t.tenant: [] for t in self.tenants}
        c = batches[contoso.tenant]
        for i, u in enumerate(self.contoso_users * 2):
            c.append(_delivery("assignment" if i % 2 else "customer_reply", ["high", "medium", "low", "info"][i % 4],
                               "user_activity", u, _feed(f"Ticket {1000 + i} needs you", 1000 + i), f"ticket-{1000 + i}"))
        for i, conv in enumerate(self.contoso_chats * 2):
            c.append(_delivery("escalation", "critical" if i % 3 == 0 else "high", "chat", conv,
                               _bot(f"Escalation {i}: the customer is waiting"), f"escalation-{i}"))
        for i in range(3):
            c.append(_delivery("sla_risk", "high", "channel", self.channel, _bot(f"SLA at risk on ticket {2000 + i}"),
                               f"sla-{2000 + i}"))
        for i in range(2):     # a user who never talked to the bot
            c.append(_delivery("assignment", "medium", "chat", "99999999-0000-4000-8000-c00000000099",
                               _bot("You have a new ticket"), f"unmapped-{i}"))
        f = batches[fabrikam.tenant]
        for i, u in enumerate(self.fabrikam_users * 2):
            f.append(_delivery("approval_request", "medium", "user_activity", u,
                               _feed(f"Approve purchase order {3000 + i}", 3000 + i), f"po-{3000 + i}"))
        for i in range(4):
            f.append(_delivery("customer_reply", "high", "webhook", "helpdesk", _card(f"Customer replied on #{4000 + i}"),
                               f"reply-{4000 + i}"))
            f.append(_delivery("customer_reply", "high", "webhook", "old-room", _card(f"Customer replied on #{4000 + i}"),
                               f"reply-{4000 + i}"))
        n = batches[northwind.tenant]
        for i in range(3):
            n.append(_delivery("assignment", "high", "user_activity", f"user{i}@northwind.example",
                               _feed("New ticket", 5000 + i), f"nw-{5000 + i}"))
        counts = {}
        for t in self.tenants:
            rows = conn.execute("SELECT status FROM msteams.enqueue_notifications(%s, %s)",
                                (t.tenant, Jsonb(batches[t.tenant]))).fetchall()
            counts[t.name] = len(rows)
        for i in range(5):       # an alert fanned out to the SRE route (webhook + channel)
            conn.execute("SELECT * FROM msteams.enqueue_to_route(%s, 'sre', 'escalation', 'critical', %s, %s)",
                         (contoso.tenant, Jsonb({"webhook": _card(f"Disk full on db-{i}"),
                                                 "channel": _bot(f"Disk full on db-{i}")}), f"alert-{i}"))
            counts["Contoso"] += 2
        self.total = sum(counts.values())
        return counts

    # -- run --------------------------------------------------------------------------------------
    async def drain(self, settings: Settings, progress: bool) -> Runner:
        runner = Runner(settings, install_signal_handlers=False)
        task = asyncio.create_task(runner.run())
        ids = [t.tenant for t in self.tenants]
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            async def done() -> tuple[int, int]:
                cur = await conn.execute(
                    """SELECT (SELECT count(DISTINCT (d.tenant, d.delivery_id)) FROM msteams.notification_deliveries d
                                WHERE d.final AND d.tenant = ANY(%s::uuid[])),
                              (SELECT count(*) FROM msteams.outbox o WHERE o.tenant = ANY(%s::uuid[]))""", (ids, ids))
                return await cur.fetchone()
            tty = sys.stdout.isatty()
            bar = click.progressbar(length=self.total, label="  sending", show_pos=True, width=36) \
                if progress and tty else None
            shown = 0
            step = max(1, self.total // 4)
            try:
                while True:
                    final, pending = await done()
                    if bar is not None:
                        bar.update(final - shown)
                        shown = final
                    elif progress and final - shown >= step:     # not a terminal: a line per quarter
                        self.echo(f"  sending: {final}/{self.total} deliveries final")
                        shown = final
                    if pending == 0:
                        break
                    if task.done():
                        raise RuntimeError("the runner stopped early")
                    await asyncio.sleep(0.25)
            finally:
                if bar is not None:
                    bar.render_finish()
        runner.stop()
        await task
        return runner

    def report(self, conn: psycopg.Connection, elapsed: float) -> None:
        self.echo("\nWhat happened, per tenant (msteams.delivery_health and the ledger):")
        health = {str(r["tenant"]): r for r in conn.cursor(row_factory=dict_row).execute(
            "SELECT * FROM msteams.delivery_health WHERE tenant = ANY(%s::uuid[])", ([t.tenant for t in self.tenants],))}
        for t in self.tenants:
            h = health.get(t.tenant, {})
            attempts = conn.execute("SELECT count(*) FROM msteams.notification_deliveries WHERE tenant = %s AND status <> 'skipped'",
                                    (t.tenant,)).fetchone()[0]
            latency = (f"enqueue→sent p50 {h['p50_latency_ms']:.0f} ms, p95 {h['p95_latency_ms']:.0f} ms"
                       if h.get("p50_latency_ms") is not None else "nothing sent")
            self.echo(f"  {t.name:<9} sent {h.get('sent', 0) + h.get('delivered', 0):>3} · failed {h.get('failed_final', 0):>2}"
                      f" · skipped {h.get('skipped', 0):>2} · retried {h.get('retried', 0):>2} · attempts {attempts:>3}"
                      f" · {latency}")
            codes = h.get("error_codes") or {}
            if codes:
                self.echo("            codes: " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items())))
        reqs = self.sb.requests
        cross = sum(1 for r in reqs if r.cross_tenant)
        throttled = sum(1 for r in reqs if r.status == 429)
        sends = sum(1 for r in reqs if r.kind in ("graph", "bot", "webhook"))
        dead = conn.execute("SELECT count(*) FROM msteams.dead_letters WHERE tenant = ANY(%s::uuid[])",
                            ([t.tenant for t in self.tenants],)).fetchone()[0]
        self.echo(f"\nMicrosoft sandbox: {sends} sends, {throttled} answered 429, "
                  f"{cross} with another organisation's token.")
        self.echo(f"Dead letters kept for retry or discard: {dead}. Drained in {elapsed:.1f} s.")


def run_demo(dsn: str | None, *, progress: bool = True, echo=click.echo) -> int:
    from .ops.embedded import EmbeddedPostgres

    pg = None
    if dsn is None:
        pg = EmbeddedPostgres().start()
        dsn = pg.dsn("postgres")
        where = f"a throw-away PostgreSQL on 127.0.0.1:{pg.port}"
    else:
        where = "the database you gave"
    try:
        migrate(dsn)
        with Sandbox(enforce_limits=True) as sb:
            sb.start()
            echo(f"pgteams demo: {where}, and the Microsoft sandbox on {sb.url}")
            demo = Demo(dsn, sb, echo)
            with psycopg.connect(dsn, autocommit=True) as conn:
                demo.setup(conn)
                counts = demo.enqueue(conn)
            echo("  tenants: " + ", ".join(f"{t.name} ({'own Entra app and secret' if t.active else 'integration inactive'})"
                                           for t in demo.tenants))
            echo(f"  enqueued {demo.total} deliveries: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            settings = Settings.for_sandbox(dsn, sb.url, sb.ca_file, poll_interval=1.0,
                                            worker_id=f"demo-{os.getpid()}")
            started = time.monotonic()
            asyncio.run(demo.drain(settings, progress))
            with psycopg.connect(dsn, autocommit=True) as conn:
                demo.report(conn, time.monotonic() - started)
                if pg is None:      # a real database: leave nothing of the demo behind
                    for t in demo.tenants:
                        while not all(r[2] for r in conn.execute(
                                "SELECT * FROM msteams.purge_tenant(%s, false, true)", (t.tenant,)).fetchall()):
                            pass
        return 0
    finally:
        for t in ("PGTEAMS_DEMO_CONTOSO_SECRET", "PGTEAMS_DEMO_FABRIKAM_SECRET", "PGTEAMS_DEMO_NORTHWIND_SECRET"):
            os.environ.pop(t, None)
        if pg is not None:
            pg.stop()
