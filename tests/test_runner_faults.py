"""The runner under pressure: killed, its database restarted, Microsoft down, several runners on
one database, a flood. Deterministic: every wait is on a state (database rows, sandbox records,
fault hits), time is moved in the database, and the checks are on outcomes, never on durations.

The invariant throughout: every delivery ends with exactly one final ledger row, and nothing is
sent twice unless a runner died between sending and reporting (at-least-once, bounded by the lease).
"""

from __future__ import annotations

import signal

import pytest

from pgteams.ops.embedded import EmbeddedPostgres
from pgteams.ops.migrate import migrate
from pgteams.sandbox import Fault, Sandbox
from runner_harness import (  # noqa: F401 - fixtures
    Stack, sandbox, sends, sends_by_marker, stack, wait_until,
)

TRANSPORTS = ("graph", "bot", "webhook")


def _world(stack: Stack, n_tenants: int = 1, users: int = 3, conversations: int = 1, webhooks: int = 1) -> list:
    tenants = []
    for _ in range(n_tenants):
        t = stack.add_tenant()
        for _ in range(users):
            stack.add_user(t)
        for u in t.users[:conversations]:
            stack.add_conversation(t, u)
        for i in range(webhooks):
            stack.add_webhook(t, f"room-{i}")
        tenants.append(t)
    return tenants


def _mixed(stack: Stack, t, n: int, offset: int = 0, **kw) -> list:
    """n deliveries of tenant t over its users, conversations and webhooks, the transports interleaved."""
    items = []
    for i in range(offset, offset + n):
        transport = TRANSPORTS[i % 3]
        dest = {"graph": t.users[i % len(t.users)], "bot": t.conversations[i % len(t.conversations)],
                "webhook": list(t.webhooks)[i % len(t.webhooks)]}[transport]
        items.append(stack.item(transport, dest, **kw))
    enqueued = stack.enqueue_many(t, items)
    assert all(e.status == "queued" for e in enqueued)
    return enqueued


def _fault_hits(sb: Sandbox, fault_id: str) -> int:
    return sum(f["hits"] for f in sb.faults if f["id"] == fault_id)


def _assert_each_sent_once(stack: Stack, enqueued: list, *, exactly_once_on_the_wire: bool = True) -> dict:
    """Every delivery: exactly one final ledger row, `sent`; and (unless a runner died mid-send)
    the sandbox received it exactly once."""
    ids = [e.delivery_id for e in enqueued]
    finals = stack.finals(ids)
    assert len(finals) == len(ids), f"{len(ids) - len(finals)} deliveries have no final ledger row"
    assert {d: len(rows) for d, rows in finals.items() if len(rows) != 1} == {}, "a delivery has two final rows"
    assert {d: rows[0]["status"] for d, rows in finals.items() if rows[0]["status"] != "sent"} == {}
    assert stack.db.execute("SELECT count(*) AS n FROM msteams.outbox WHERE delivery_id = ANY(%s)",
                            (ids,)).fetchone()["n"] == 0
    if exactly_once_on_the_wire:
        received = sends_by_marker(stack.sb.requests)
        counts = {e.marker: len([r for r in received.get(e.marker, []) if r.status < 300]) for e in enqueued}
        assert {m: c for m, c in counts.items() if c != 1} == {}, "a delivery was lost or sent twice"
    return finals


def _listeners(stack: Stack) -> int:
    return stack.db.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name = 'pgteams-runner-listener'").fetchone()["n"]


# ------------------------------------------------------------------------------ SIGKILL
def test_sigkill_mid_batch_loses_nothing_once_leases_expire(stack):
    sb = stack.sb
    (t,) = _world(stack, users=4)
    fid = sb.fault(Fault("slow", delay=2, tenant=t.aad, endpoint="graph"))
    enqueued = stack.enqueue_many(t, [stack.item("graph", t.users[i % 4]) for i in range(120)])
    ids = [e.delivery_id for e in enqueued]

    proc = stack.runner_process(concurrency=16, batch_size=16, lease_seconds=3600)
    # Some sends completed and were reported, a second wave is on the wire: kill -9 now.
    wait_until(lambda: stack.count_final(ids) >= 1 and _fault_hits(sb, fid) > stack.count_final(ids), 60,
               "reported sends and more sends on the wire")
    proc.kill()
    assert proc.wait(30) == -signal.SIGKILL
    held = stack.locked_by(proc.worker_id)
    done_by_first = stack.count_final(ids)
    assert held > 0 and done_by_first > 0

    sb.clear_faults()
    assert stack.expire_leases(proc.worker_id) == held         # move time: the leases ran out
    second = stack.runner_thread().wait_ready()
    stack.wait_final(ids, timeout=60)
    finals = _assert_each_sent_once(stack, enqueued, exactly_once_on_the_wire=False)
    attempts = {d: rows[0]["attempt_number"] for d, rows in finals.items()}
    reclaimed = {d for d, a in attempts.items() if a == 2}
    assert len(reclaimed) == held and set(attempts.values()) <= {1, 2}
    assert {finals[d][0]["worker"] for d in reclaimed} == {second.worker_id}
    assert second.runner.metrics.registry.get_sample_value("pgteams_lease_reclaims_total") == held
    # one ledger row per delivery: the dead runner's unreported attempts left none
    assert {len(stack.ledger(d)) for d in ids} == {1}
    # at least once: a delivery is on the wire at most once per claim
    received = sends_by_marker(sb.requests)
    for e in enqueued:
        assert 1 <= len(received.get(e.marker, [])) <= attempts[e.delivery_id], e


# ------------------------------------------------------------------------------ PostgreSQL restart
@pytest.fixture
def own_pg():
    pg = EmbeddedPostgres().start()
    try:
        migrate(pg.dsn())
        yield pg
    finally:
        pg.stop()


def test_postgres_restart_under_a_running_runner(own_pg, sandbox, monkeypatch, tmp_path):
    stack = Stack(own_pg.dsn(), sandbox, monkeypatch, tmp_path)
    try:
        sb = stack.sb
        (t,) = _world(stack, users=3)
        runner = stack.runner_thread().wait_ready()
        before = _mixed(stack, t, 30)
        stack.wait_final([e.delivery_id for e in before])

        # Sends on the wire while the server goes down: their outcomes wait for it to come back.
        fid = sb.fault(Fault("slow", delay=2, destination=t.users[2], endpoint="graph"))
        held = stack.enqueue_many(t, [stack.item("graph", t.users[2]) for _ in range(3)])
        sb.wait_for(lambda reqs: _fault_hits(sb, fid) >= 1, timeout=30)
        reconnects = runner.listener.reconnects

        own_pg.restart()
        stack.reconnect()
        after = _mixed(stack, t, 30, offset=30)
        everything = before + held + after
        stack.wait_final([e.delivery_id for e in everything], timeout=60)
        _assert_each_sent_once(stack, everything)
        assert runner.alive
        assert runner.listener.reconnects > reconnects
        wait_until(lambda: runner.listener.connected.is_set(), 30, "the listener to be connected again")
        # The worker's connections were re-made on the restarted server: the deliveries enqueued
        # after the restart were claimed, and the outcomes of the sends on the wire were reported
        # after the report connection's first call failed (it was opened before the restart).
        # (The claim connection may die silently in next_due_at, so its error count is not checked.)
        metrics = runner.runner.metrics.registry
        assert (metrics.get_sample_value("pgteams_db_errors_total", {"operation": "report"}) or 0) >= 1
        sessions = {r["application_name"] for r in stack.db.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()").fetchall()}
        assert {"pgteams-runner-claim", "pgteams-runner-report", "pgteams-runner-listener"} <= sessions
    finally:
        stack.close()


# ------------------------------------------------------------------------------ Microsoft down
def test_sandbox_down_then_back(stack):
    sb = stack.sb
    (t,) = _world(stack, users=3)
    runner = stack.runner_thread().wait_ready()
    warm = _mixed(stack, t, 3)                 # tokens cached, connections pooled
    stack.wait_final([e.delivery_id for e in warm])

    sb.stop()
    down = _mixed(stack, t, 30, offset=3, category="escalation")
    ids = [e.delivery_id for e in down]
    wait_until(lambda: stack.db.execute(
        "SELECT count(DISTINCT delivery_id) AS n FROM msteams.notification_deliveries WHERE delivery_id = ANY(%s)",
        (ids,)).fetchone()["n"] == len(ids), 60, "every delivery to have failed once")
    attempts = stack.db.execute("SELECT * FROM msteams.notification_deliveries WHERE delivery_id = ANY(%s)",
                                (ids,)).fetchall()
    assert {(r["status"], r["error_code"], r["final"], r["status_code"]) for r in attempts} == \
        {("failed", "transient", False, None)}
    waiting = stack.db.execute("SELECT last_error_code, locked_by IS NULL AS free FROM msteams.outbox "
                               "WHERE delivery_id = ANY(%s)", (ids,)).fetchall()
    assert len(waiting) == len(ids) and {r["last_error_code"] for r in waiting} == {"transient"}

    sb.start()                                 # same port, same state
    stack.make_due(ids)                        # move time past the backoff
    runner.wake()
    stack.wait_final(ids, timeout=60)
    _assert_each_sent_once(stack, warm + down)
    codes = stack.db.execute("SELECT DISTINCT error_code FROM msteams.notification_deliveries "
                             "WHERE delivery_id = ANY(%s) AND NOT final", (ids,)).fetchall()
    assert [r["error_code"] for r in codes] == ["transient"]
    assert [r for r in sb.requests if r.status >= 300] == []     # nothing reached the sandbox while it was down


# ------------------------------------------------------------------------------ several runners
@pytest.mark.parametrize("n_runners,kind", [(2, "thread"), (4, "process")])
def test_several_runners_never_send_a_delivery_twice(stack, n_runners, kind):
    sb = stack.sb
    tenants = _world(stack, n_tenants=3, users=3, conversations=2)
    sb.fault(Fault("slow", delay=0.1))         # every send takes a moment: no runner drains it alone
    runners = []
    for _ in range(n_runners):
        if kind == "thread":
            runners.append(stack.runner_thread(concurrency=8, batch_size=8).wait_ready())
        else:
            runners.append(stack.runner_process(concurrency=8, batch_size=8))
    wait_until(lambda: _listeners(stack) == n_runners, 60, f"{n_runners} runners to listen")
    enqueued = [e for t in tenants for e in _mixed(stack, t, 200)]
    stack.wait_final([e.delivery_id for e in enqueued], timeout=120)

    finals = _assert_each_sent_once(stack, enqueued)
    # claimed once each: a second claim would have counted a second attempt
    assert {rows[0]["attempt_number"] for rows in finals.values()} == {1}
    assert {len(stack.ledger(e.delivery_id)) for e in enqueued} == {1}
    workers = {rows[0]["worker"] for rows in finals.values()}
    assert workers <= {r.worker_id for r in runners} and len(workers) >= 2


# ------------------------------------------------------------------------------ flood
def test_flood_of_5000_across_50_tenants_drains_with_zero_loss(stack):
    sb = stack.sb
    tenants = _world(stack, n_tenants=50, users=2, conversations=1)
    enqueued = [e for t in tenants for e in _mixed(stack, t, 100)]
    assert len(enqueued) == 5000
    runners = [stack.runner_process(concurrency=64, batch_size=100, http_timeout=60) for _ in range(2)]
    stack.wait_final([e.delivery_id for e in enqueued], timeout=240)

    _assert_each_sent_once(stack, enqueued)
    assert stack.db.execute("SELECT count(*) AS n FROM msteams.notification_deliveries").fetchone()["n"] == 5000
    assert [r for r in sb.requests if r.cross_tenant] == []
    assert len(sends(sb.requests)) == 5000
    for r in runners:
        r.terminate()
        assert r.wait(60) == 0
