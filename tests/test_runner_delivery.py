"""The runner end to end: real PostgreSQL, the sandbox over HTTPS, msal and httpx unmodified.

Each test builds its world through the SQL API (tenants, conversation references captured from
inbound activities, webhooks), lets a real Runner deliver, and checks the ledger and what the
sandbox received. Time is moved in the database (available_at), never slept through.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlsplit

from pgteams.sandbox import Fault
from runner_harness import ROOT, issued_tokens, sandbox, sends, sends_by_marker, stack  # noqa: F401 - fixtures

TRANSPORTS = ("graph", "bot", "webhook")
PRIORITIES = ("critical", "high", "medium", "low", "info")


def _only(rows: list) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


# ------------------------------------------------------------------------------ credential isolation
def test_every_delivery_uses_its_own_tenants_credentials(stack):
    """10 organisations, each its own Entra app, bot and secret; 1,050 deliveries interleaved across
    tenants and all three transports at concurrency 32: every send carries a token of the delivery's
    own tenant (and client), and the sandbox never saw another organisation's token."""
    sb = stack.sb
    tenants = []
    for i in range(10):
        t = stack.add_tenant(f"org{i}")
        for _ in range(4):
            stack.add_user(t)
        for u in t.users[:3]:
            stack.add_conversation(t, u)
        stack.add_webhook(t, "alerts")
        stack.add_webhook(t, "helpdesk")
        tenants.append(t)
    assert len({t.client_id for t in tenants}) == len({t.secret for t in tenants}) == 10

    runner = stack.runner_thread(concurrency=32, batch_size=50).wait_ready()
    enqueued = []
    for rnd in range(35):                       # round robin: tenant by tenant, transport by transport
        for k, t in enumerate(tenants):
            items = []
            for j, transport in enumerate(TRANSPORTS):
                n = rnd * 3 + j
                dest = {"graph": t.users[n % 4], "bot": t.conversations[n % 3],
                        "webhook": ("alerts", "helpdesk")[n % 2]}[transport]
                items.append(stack.item(transport, dest, priority=PRIORITIES[(rnd + k + j) % 5]))
            enqueued += stack.enqueue_many(t, items)
    assert len(enqueued) == 1050 and all(e.status == "queued" for e in enqueued)
    by_id = {e.delivery_id: e for e in enqueued}
    by_marker = {e.marker: e for e in enqueued}

    finals = stack.wait_final(list(by_id), timeout=180)
    assert runner.alive
    assert {d: [r["status"] for r in rows] for d, rows in finals.items() if [r["status"] for r in rows] != ["sent"]} == {}
    assert stack.outbox_count() == 0

    records = sb.requests
    assert [r for r in records if r.cross_tenant] == []
    received = sends_by_marker(records)
    assert set(received) == set(by_marker), "every delivery reached the sandbox"
    for marker, reqs in received.items():
        e = by_marker[marker]
        t = e.tenant
        for r in reqs:
            assert r.kind == e.transport, (marker, r)
            assert r.target_tenant == t.aad, (marker, r)
            assert 200 <= r.status < 300, (marker, r)
            if r.kind == "graph":
                assert (r.token_tenant, r.token_client, r.token_audience) == (t.aad, t.client_id, "graph"), (marker, r)
            elif r.kind == "bot":
                assert (r.token_tenant, r.token_client, r.token_audience) == (t.aad, t.bot_app_id, "botframework"), \
                    (marker, r)
            else:
                assert r.token_tenant is None       # a webhook URL is its own credential: no bearer token
    # every token was asked for in the app's own directory, and granted
    home = {c: t.aad for t in tenants for c in (t.client_id, t.bot_app_id)}
    token_requests = [r for r in records if r.kind == "token"]
    assert len({r.token_client for r in token_requests}) == 20
    for r in token_requests:
        assert home[r.token_client] == r.token_tenant and r.status == 200, r


# ------------------------------------------------------------------------------ bot removed
def test_bot_removed_fails_once_marks_stale_and_revives(stack):
    sb, db = stack.sb, stack.db
    t = stack.add_tenant()
    user, other = stack.add_user(t), stack.add_user(t)
    conv = stack.add_conversation(t, user)
    runner = stack.runner_thread().wait_ready()

    sb.remove_bot(conv, t.bot_app_id)               # the user removed the bot since it last wrote
    first = stack.enqueue(t, "bot", conv, category="escalation")
    assert first.status == "queued"
    stack.wait_final([first.delivery_id])
    row = _only(stack.ledger(first.delivery_id))
    assert (row["status"], row["error_code"], row["final"], row["attempt_number"], row["status_code"]) == \
        ("failed", "bot_not_in_conversation", True, 1, 403)
    assert stack.outbox_row(first.delivery_id) is None                    # not retried
    assert [r.error_code for r in sends(sb.requests, first.marker)] == ["BotNotInConversationRoster"]
    ref = db.execute("SELECT status, stale_reason FROM msteams.conversation_references WHERE tenant = %s "
                     "AND conversation_id = %s", (t.tenant, conv)).fetchone()
    assert (ref["status"], ref["stale_reason"]) == ("stale", "bot_not_in_conversation")

    # A later delivery to the stale conversation is skipped and never reaches the sandbox.
    second = stack.enqueue(t, "bot", conv, category="escalation")
    assert (second.status, second.error_code) == ("skipped", "user_not_mapped")
    skipped = _only(stack.ledger(second.delivery_id))
    assert (skipped["status"], skipped["error_code"], skipped["final"]) == ("skipped", "user_not_mapped", True)
    control = stack.enqueue(t, "graph", other)           # enqueued after it: once sent, the runner has passed
    stack.wait_final([control.delivery_id])
    assert _only(stack.ledger(control.delivery_id))["status"] == "sent"
    assert sends(sb.requests, second.marker) == []
    assert len(sends(sb.requests, first.marker)) == 1

    # The bot is added back and the user writes again: the inbound activity revives the reference.
    sb.add_bot(conv, t.bot_app_id)
    assert stack.capture(t, user, conv) == "revived"
    third = stack.enqueue(t, "bot", conv, category="escalation")
    assert third.status == "queued"
    stack.wait_final([third.delivery_id])
    row = _only(stack.ledger(third.delivery_id))
    assert (row["status"], row["attempt_number"], row["error_code"]) == ("sent", 1, None)
    assert row["provider_message_id"]
    assert [r.status for r in sends(sb.requests, third.marker)] == [201]
    assert runner.alive


# ------------------------------------------------------------------------------ 429 Retry-After
def test_throttled_delivery_waits_for_retry_after(stack):
    """A 429 with Retry-After: 60 is not retried before the minute is over; the tenant's Graph
    scope is paused for every delivery (one enqueued meanwhile queues behind the pause), other
    scopes go on. Time is then moved in the database and the retry is sent as attempt 2."""
    sb, db = stack.sb, stack.db
    t = stack.add_tenant()
    user, other = stack.add_user(t), stack.add_user(t)
    hook = stack.add_webhook(t)
    runner = stack.runner_thread().wait_ready()
    sb.fault(Fault("throttle", retry_after=60, count=1, destination=user, endpoint="graph"))

    d = stack.enqueue(t, "graph", user)
    row = _only(stack.wait_ledger_rows(d.delivery_id, 1))
    assert (row["status"], row["error_code"], row["final"], row["status_code"], row["retryable"]) == \
        ("failed", "graph_throttled", False, 429, True)
    assert row["retry_at"] >= row["created_at"] + dt.timedelta(seconds=60)
    ob = stack.outbox_row(d.delivery_id)
    assert (ob["attempt_count"], ob["locked_by"], ob["available_at"]) == (1, None, row["retry_at"])
    pause = _only(db.execute("SELECT * FROM msteams.throttle_pauses WHERE tenant = %s", (t.tenant,)).fetchall())
    assert (pause["scope"], pause["error_code"]) == ("graph", "graph_throttled")
    assert pause["paused_until"] >= row["created_at"] + dt.timedelta(seconds=60)

    # Let the runner work and go idle: a delivery to another scope enqueued later is sent; the
    # throttled one is not retried early, and a new one in the paused scope waits behind the pause.
    runner.idle.clear()
    behind = stack.enqueue(t, "graph", other)
    assert stack.outbox_row(behind.delivery_id)["available_at"] == pause["paused_until"]
    control = stack.enqueue(t, "webhook", hook)
    stack.wait_final([control.delivery_id])
    runner.wait_idle()
    assert [(r.status, r.retry_after) for r in sends(sb.requests, d.marker)] == [(429, "60")]
    assert sends(sb.requests, behind.marker) == []
    assert len(stack.ledger(d.delivery_id)) == 1 and stack.ledger(behind.delivery_id) == []

    # Move time past Retry-After: the retry (attempt 2) and the held-back delivery are sent.
    stack.end_throttle_pauses(t)
    assert stack.make_due([d.delivery_id, behind.delivery_id]) == 2
    runner.wake()
    stack.wait_final([d.delivery_id, behind.delivery_id])
    rows = stack.ledger(d.delivery_id)
    assert [(r["attempt_number"], r["status"], r["final"]) for r in rows] == [(1, "failed", False), (2, "sent", True)]
    assert [r.status for r in sends(sb.requests, d.marker)] == [429, 204]
    assert [(r["attempt_number"], r["status"]) for r in stack.ledger(behind.delivery_id)] == [(1, "sent")]


# ------------------------------------------------------------------------------ 5xx and timeouts
def test_503_once_is_retried_and_sent(stack):
    sb = stack.sb
    t = stack.add_tenant()
    user = stack.add_user(t)
    runner = stack.runner_thread().wait_ready()
    sb.fault(Fault("server_error", status=503, count=1, destination=user, endpoint="graph"))

    d = stack.enqueue(t, "graph", user)
    first = stack.wait_ledger_rows(d.delivery_id, 1)[0]
    assert (first["status"], first["error_code"], first["final"], first["status_code"]) == \
        ("failed", "graph_server_error", False, 503)
    stack.make_due([d.delivery_id])       # 0 when the runner already took it on its own backoff
    runner.wake()
    stack.wait_final([d.delivery_id])
    assert [(r["attempt_number"], r["status"], r["error_code"]) for r in stack.ledger(d.delivery_id)] == \
        [(1, "failed", "graph_server_error"), (2, "sent", None)]
    assert [r.status for r in sends(sb.requests, d.marker)] == [503, 204]


def test_timeout_is_transient_and_retried(stack):
    """The sandbox holds the answer longer than the runner's http_timeout: no answer is a
    `transient` failure, retried, then sent."""
    sb = stack.sb
    t = stack.add_tenant()
    user = stack.add_user(t)
    conv = stack.add_conversation(t, user)
    runner = stack.runner_thread(http_timeout=2.0).wait_ready()
    warm = stack.enqueue(t, "bot", conv, category="escalation")       # the bot token is fetched and kept
    stack.wait_final([warm.delivery_id])
    fid = sb.fault(Fault("timeout", delay=6, count=1, destination=conv, endpoint="bot"))

    d = stack.enqueue(t, "bot", conv, category="escalation")
    first = stack.wait_ledger_rows(d.delivery_id, 1)[0]
    assert (first["status"], first["error_code"], first["final"], first["status_code"]) == \
        ("failed", "transient", False, None)
    assert first["error_message"] == "timeout: ReadTimeout"
    stack.make_due([d.delivery_id])
    runner.wake()
    stack.wait_final([d.delivery_id])
    assert [(r["attempt_number"], r["status"]) for r in stack.ledger(d.delivery_id)] == [(1, "failed"), (2, "sent")]
    # the held request is recorded when the sandbox finally answers it (504, to nobody)
    records = sb.wait_for(lambda reqs: any(r.fault == fid for r in reqs), timeout=15)
    assert sorted((r.fault == fid, r.status) for r in sends(records, d.marker)) == [(False, 201), (True, 504)]


def test_permanent_503_becomes_a_dead_letter_after_max_attempts(stack):
    sb, db = stack.sb, stack.db
    t = stack.add_tenant()
    user = stack.add_user(t)
    runner = stack.runner_thread().wait_ready()
    sb.fault(Fault("server_error", status=503, destination=user, endpoint="graph"))

    d = stack.enqueue(t, "graph", user, category="assignment")
    max_attempts = db.execute("SELECT max_attempts FROM msteams.categories WHERE category = 'assignment'").fetchone()[
        "max_attempts"]
    assert max_attempts >= 3
    for n in range(1, max_attempts):
        stack.wait_ledger_rows(d.delivery_id, n)
        stack.make_due([d.delivery_id])       # move time past the backoff
        runner.wake()
    stack.wait_final([d.delivery_id])
    rows = stack.ledger(d.delivery_id)
    assert [(r["attempt_number"], r["status"], r["error_code"], r["status_code"], r["final"]) for r in rows] == \
        [(n, "failed", "graph_server_error", 503, n == max_attempts) for n in range(1, max_attempts + 1)]
    assert stack.outbox_row(d.delivery_id) is None
    dead = _only(db.execute("SELECT * FROM msteams.dead_letters WHERE delivery_id = %s", (d.delivery_id,)).fetchall())
    assert (dead["final_status"], dead["error_code"], dead["attempt_count"], dead["status_code"]) == \
        ("failed", "graph_server_error", max_attempts, 503)
    assert [r.status for r in sends(sb.requests, d.marker)] == [503] * max_attempts


# ------------------------------------------------------------------------------ bad credentials
def test_bad_credentials_fail_without_leaking_secrets_to_the_log(stack):
    sb = stack.sb
    good = stack.add_tenant("good")
    bad_secret = f"runner-side-{uuid.uuid4().hex}"
    bad = stack.add_tenant("bad", runner_secret=bad_secret)       # differs from what the sandbox knows
    gu = stack.add_user(good)
    conv = stack.add_conversation(good, gu)
    hook = stack.add_webhook(good, "sre-room")
    bu = stack.add_user(bad)
    ok = [stack.enqueue(good, "graph", gu), stack.enqueue(good, "bot", conv), stack.enqueue(good, "webhook", hook)]
    refused = stack.enqueue(bad, "graph", bu)

    proc = stack.runner_process(log_level="DEBUG")
    stack.wait_final([e.delivery_id for e in ok + [refused]])
    row = _only(stack.ledger(refused.delivery_id))
    assert (row["status"], row["error_code"], row["final"], row["attempt_number"]) == \
        ("failed", "credentials_invalid", True, 1)
    assert [_only(stack.ledger(e.delivery_id))["status"] for e in ok] == ["sent", "sent", "sent"]
    records = sb.requests
    assert [r for r in records if r.kind in TRANSPORTS and r.token_client == bad.client_id] == []
    assert {r.error_code for r in records if r.kind == "token" and r.token_client == bad.client_id} == {"invalid_client"}

    proc.terminate()
    assert proc.wait(30) == 0
    out = proc.output()
    assert "code=credentials_invalid" in out                 # the log was captured, at DEBUG
    assert out.count("delivery tenant=") == 4
    url = good.webhooks[hook]
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    workflow_id = re.search(r"/workflows/([0-9a-f]{32})/", url).group(1)
    tokens = issued_tokens(sb)
    assert len(tokens) >= 2                                  # the good tenant's Graph and bot tokens
    secrets = {"good tenant's secret": good.secret, "bad tenant's sandbox secret": bad.secret,
               "bad tenant's runner secret": bad_secret, "webhook URL": url, "webhook sig": sig,
               "webhook id": workflow_id}
    secrets.update({f"access token {i}": tok for i, tok in enumerate(tokens)})
    secrets.update({f"token body {i}": tok[4:] for i, tok in enumerate(tokens)})   # without the "sbx." prefix
    secrets.update({f"marker of {e.transport}": e.marker for e in ok + [refused]})
    assert [name for name, value in secrets.items() if value in out] == []


# ------------------------------------------------------------------------------ serviceUrl allow-list
def test_service_url_not_on_the_allow_list_never_sees_a_token(stack):
    sb, db = stack.sb, stack.db
    t = stack.add_tenant()
    user = stack.add_user(t)
    conv = stack.add_conversation(t, user)         # its serviceUrl is https://127.0.0.1:<port>/bot/amer/
    stack.runner_thread(service_url_hosts=("smba.trafficmanager.net",)).wait_ready()
    bot = stack.enqueue(t, "bot", conv, category="escalation")
    graph = stack.enqueue(t, "graph", user)
    stack.wait_final([bot.delivery_id, graph.delivery_id])

    row = _only(stack.ledger(bot.delivery_id))
    assert (row["status"], row["error_code"], row["final"], row["status_code"]) == \
        ("failed", "destination_not_allowed", True, None)
    assert _only(stack.ledger(graph.delivery_id))["status"] == "sent"
    records = sb.requests
    assert [r for r in records if r.kind == "bot"] == []
    assert [r for r in records if r.kind == "token" and r.token_client == t.bot_app_id] == []
    assert [r.token_client for r in records if r.kind == "token"] == [t.client_id]
    ref = db.execute("SELECT status FROM msteams.conversation_references WHERE conversation_id = %s", (conv,)).fetchone()
    assert ref["status"] == "active"               # our refusal, not Microsoft's: the reference stays live


# ------------------------------------------------------------------------------ LISTEN
def test_notify_wakes_an_idle_runner(stack):
    """With a one-hour poll interval, only the NOTIFY of the enqueue can wake the runner."""
    sb = stack.sb
    t = stack.add_tenant()
    user = stack.add_user(t)
    runner = stack.runner_thread(poll_interval=3600).wait_ready()
    runner.wait_idle()
    d = stack.enqueue(t, "graph", user)
    sb.wait_for(lambda reqs: any(r.status == 204 for r in sends(reqs, d.marker)), timeout=15)
    stack.wait_final([d.delivery_id], timeout=15)
    assert _only(stack.ledger(d.delivery_id))["status"] == "sent"


# ------------------------------------------------------------------------------ SIGTERM
def test_sigterm_mid_batch_finishes_what_is_on_the_wire_and_releases_the_rest(stack):
    sb = stack.sb
    t = stack.add_tenant()
    slow_user, quick_user = stack.add_user(t), stack.add_user(t)
    fid = sb.fault(Fault("slow", delay=4, destination=slow_user, endpoint="graph"))
    slow = stack.enqueue_many(t, [stack.item("graph", slow_user, priority="critical") for _ in range(4)])
    quick = stack.enqueue_many(t, [stack.item("graph", quick_user, priority="low") for _ in range(60)])
    everything = slow + quick

    proc = stack.runner_process(concurrency=4, batch_size=4, shutdown_timeout=15)

    def slow_hits(_reqs=None) -> int:
        return sum(f["hits"] for f in sb.faults if f["id"] == fid)

    sb.wait_for(lambda reqs: slow_hits() >= 1, timeout=30)   # a slow send is on the wire
    proc.terminate()
    assert proc.wait(proc.shutdown_timeout + 10) == 0
    assert stack.locked_by(proc.worker_id) == 0
    by_first = stack.finals([e.delivery_id for e in everything])
    finished_first = {d for d, rows in by_first.items() if rows[0]["worker"] == proc.worker_id}
    assert finished_first, "the sends on the wire were finished and reported before exiting"
    assert finished_first <= {e.delivery_id for e in slow}
    assert "stopping: waiting up to 15 s" in proc.output()

    sb.clear_faults()
    second = stack.runner_thread().wait_ready()
    finals = stack.wait_final([e.delivery_id for e in everything])
    assert {d: len(rows) for d, rows in finals.items() if len(rows) != 1} == {}
    assert all(_only(rows)["status"] == "sent" for rows in finals.values())
    # released deliveries were not counted as attempts, and nothing was sent twice
    assert {_only(rows)["attempt_number"] for rows in finals.values()} == {1}
    assert {len(stack.ledger(e.delivery_id)) for e in everything} == {1}
    received = sends_by_marker(sb.requests)
    assert {e.marker: len(received.get(e.marker, [])) for e in everything} == {e.marker: 1 for e in everything}
    assert {rows[0]["worker"] for d, rows in finals.items() if d not in finished_first} == {second.worker_id}


# ------------------------------------------------------------------------------ pgteams demo
def test_pgteams_demo_runs_and_reports():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "runner"))
    done = subprocess.run([sys.executable, "-m", "pgteams.cli", "demo", "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("Contoso", "Fabrikam", "Northwind"):
        assert re.search(rf"^  {name}\s+sent\s+\d+ · failed\s+\d+ · skipped\s+\d+ · retried\s+\d+ · attempts\s+\d+",
                         out, re.M), out
    assert re.search(r"^  Northwind\s+sent\s+0 ", out, re.M), out
    assert "0 with another organisation's token" in out
    for code in ("bot_not_in_conversation", "webhook_not_found", "app_not_installed", "integration_inactive",
                 "user_not_mapped"):
        assert re.search(rf"codes: .*\b{code} \d+", out), (code, out)
