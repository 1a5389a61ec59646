"""Claim/complete cycle: msteams.claim_deliveries + complete_deliveries vs a minimal SKIP LOCKED queue.

Measured in one run on one durable PostgreSQL (bench/_common.py), alternately, SQL only (no HTTP):

1. Fresh: each trial loads N deliveries, then 1, 2 or 4 sessions (threads, each its own autocommit
   connection, SET ROLE msteams_runner) drain them: `SELECT * FROM msteams.claim_deliveries(worker,
   100)` → `msteams.complete_deliveries(worker, <the 100 outcomes, status sent>)` → repeat, which is
   how the runner reports. Baseline, same sessions, same database: a bare table
   `bench.queue (id bigserial PRIMARY KEY, payload jsonb)` drained by
   `DELETE FROM bench.queue WHERE id IN (SELECT id … ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 100)
   RETURNING id, payload`. Rate = N / wall time of the drain. Target: the API keeps ≥ 0.5 of the
   minimal queue's rate while it writes the ledger. For information: the same cycle reporting with
   one `complete_delivery` call per delivery.
2. Under bloat: a second database of the same cluster (same migration) has had B deliveries
   (default 1,000,000) enqueued, claimed and completed with autovacuum off for msteams.outbox and no
   VACUUM; the same cycle is then measured there, alternately with the fresh database (VACUUMed
   first, as autovacuum keeps it). Target: within 2× of the fresh rate. Reports the outbox size
   (pg_total_relation_size), its dead tuples, the buffers one claim reads, then two more cases:
   the bloated outbox ANALYZEd while it holds no live row (what autovacuum's ANALYZE of a drained
   queue often sees; the planner then believes the table is empty), and the rate after a VACUUM.

Bloat load paths (--bloat-path): `sql` (default) writes the tuple history claim/complete leave,
with set-based SQL per 100,000 deliveries: INSERT into the outbox, the claim's UPDATE (lease,
attempt, available_at moved: not HOT, so every index gets a second entry), then DELETE with the
ledger rows; one real claim then walks the dead index entries once, marking them dead as
production's claims would have. `api` pushes every delivery through the real
claim_deliveries(1000) / complete_deliveries(1000 outcomes) from 2 sessions: the exact history,
but about 2.5 minutes per million here.
Outbox rows are loaded with set-based INSERTs of the rows enqueue_notifications writes
(bench_enqueue.py measures enqueue itself).

Run: /tmp/v/bin/python bench/bench_claim.py [--rows 10000] [--rounds 3] [--sessions 1,2,4]
                                            [--bloat-rows 1000000] [--bloat-path api|sql] [--stats]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid

import psycopg
from psycopg.types.json import Jsonb

from _common import bench_database, machine_line, median, report

TENANTS = [uuid.UUID(int=0xC1A1_0000_0000_0000_0000_000000000000 + i) for i in range(10)]
PAYLOAD = {
    "topic": {"source": "text", "value": "Ticket 42", "webUrl": "https://psa.example.com/t/42"},
    "activityType": "systemDefault",
    "previewText": {"content": "Ticket 42 was assigned to you"},
    "templateParameters": [{"name": "systemDefaultText", "value": "Ticket 42 was assigned to you"}],
}
BATCH = 100

SETUP = """
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE SCHEMA bench;
CREATE TABLE bench.queue (id bigserial PRIMARY KEY, payload jsonb NOT NULL);
GRANT USAGE ON SCHEMA bench TO msteams_runner;
GRANT SELECT, UPDATE, DELETE ON bench.queue TO msteams_runner;   -- FOR UPDATE needs UPDATE
"""

# What enqueue_notifications writes for a queued Graph delivery (priorities mixed as in production:
# 10 % critical, 20 % high, 40 % medium, 20 % low, 10 % info), due in enqueue order.
LOAD_OUTBOX = """
INSERT INTO msteams.outbox (tenant, available_at, max_attempts, priority, category, destination_type,
                            destination_id, transport, internal_notification_id, enqueue_key, expires_at, payload)
SELECT (%(tenants)s::uuid[])[1 + g %% 10], now() - interval '1 minute' + g * interval '1 microsecond', 6,
       (ARRAY['critical','high','high','medium','medium','medium','medium','low','low','info'])[1 + g %% 10],
       'assignment', 'user_activity', 'aaaaaaaa-0000-0000-0000-' || lpad((g %% 5000)::text, 12, '0'), 'graph',
       %(prefix)s || g, encode(sha256(convert_to(%(prefix)s || g, 'UTF8')), 'hex'),
       now() + interval '7 days', %(payload)s::jsonb
  FROM generate_series(1, %(n)s) AS g
"""
LOAD_QUEUE = "INSERT INTO bench.queue (payload) SELECT %(payload)s::jsonb FROM generate_series(1, %(n)s)"

CLAIM = "SELECT * FROM msteams.claim_deliveries(%s, %s)"
COMPLETE = "SELECT count(*) FROM msteams.complete_deliveries(%s, %s)"
COMPLETE_ONE = "SELECT outcome FROM msteams.complete_delivery(%s, %s, %s, %s, 'sent', 201, NULL, NULL, NULL, %s, NULL, %s)"
MINIMAL = """DELETE FROM bench.queue WHERE id IN (
    SELECT id FROM bench.queue ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s) RETURNING id, payload"""


def outcomes(rows: list[tuple]) -> Jsonb:
    """The runner's report for a claimed batch: every delivery sent (HTTP 201), as JSON text."""
    return Jsonb(json.dumps([
        {"tenant": str(r[0]), "delivery_id": r[1], "lease_id": str(r[2]), "status": "sent", "status_code": 201,
         "error_code": None, "error_message": None, "provider_message_id": None,
         "provider_request_id": f"req-{r[1]}", "retry_after_seconds": None, "latency_ms": 180} for r in rows]),
        dumps=lambda s: s)


def api_cycle(conn: psycopg.Connection, worker: str, batch: int, per_delivery: bool = False,
              timings: list | None = None) -> int:
    """One claim → complete cycle; returns the number of deliveries it completed."""
    t0 = time.perf_counter()
    rows = conn.execute(CLAIM, (worker, batch), binary=True).fetchall()
    if not rows:
        return 0
    t1 = time.perf_counter()
    if per_delivery:
        for r in rows:
            out = conn.execute(COMPLETE_ONE, (worker, r[0], r[1], r[2], f"req-{r[1]}", 180)).fetchone()[0]
            assert out == "final", out
    else:
        n = conn.execute(COMPLETE, (worker, outcomes(rows)), binary=True).fetchone()[0]
        assert n == len(rows), (n, len(rows))
    if timings is not None:
        timings.append((t1 - t0, time.perf_counter() - t1))
    return len(rows)


def minimal_cycle(conn: psycopg.Connection, batch: int) -> int:
    return len(conn.execute(MINIMAL, (batch,)).fetchall())


def drain(dsn: str, sessions: int, cycle, role: str = "msteams_runner") -> tuple[float, int]:
    """Run `cycle(conn, worker)` in `sessions` threads until each finds nothing; (wall seconds, total)."""
    conns = []
    for _ in range(sessions):
        c = psycopg.connect(dsn, autocommit=True)
        c.execute(f"SET ROLE {role}")
        conns.append(c)
    start = threading.Barrier(sessions + 1)
    done = [0] * sessions
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            worker = f"bench-{i}"
            while True:
                n = cycle(conns[i], worker)
                if n == 0:
                    break
                done[i] += n
        except BaseException as exc:   # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    return wall, sum(done)


class Db:
    """One database of the cluster: loads the outbox and the minimal queue as the owner."""

    def __init__(self, dsn: str, name: str) -> None:
        self.dsn, self.name = dsn, name
        self.admin = psycopg.connect(dsn, autocommit=True)
        self.loads = 0

    def load_outbox(self, n: int) -> None:
        self.loads += 1
        self.admin.execute(LOAD_OUTBOX, {"tenants": [str(t) for t in TENANTS], "n": n,
                                         "prefix": f"{self.name}-{self.loads}-", "payload": json.dumps(PAYLOAD)})

    def load_queue(self, n: int) -> None:
        self.admin.execute(LOAD_QUEUE, {"payload": json.dumps(PAYLOAD), "n": n})

    def outbox_state(self) -> tuple[int, int, int, int]:
        """(total bytes, live rows, dead tuples, claim index bytes) of msteams.outbox."""
        return self.admin.execute("""
            SELECT pg_total_relation_size('msteams.outbox'), n_live_tup, n_dead_tup,
                   pg_relation_size('msteams.outbox_claim_idx')
              FROM pg_stat_user_tables WHERE relid = 'msteams.outbox'::regclass""").fetchone()


def setup_cluster(dsn: str) -> tuple[str, str]:
    """The migrated database gets the bench objects and tenants; a copy of it becomes the bloat database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        for t in TENANTS:
            conn.execute("SELECT msteams.upsert_integration(%s, 'active', true, %s, 'app-bench', 'env:BENCH_SECRET')",
                         (t, "11111111-1111-1111-1111-111111111111"))
    other = dsn.rsplit("/", 1)[0] + "/template1"
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE DATABASE bloat TEMPLATE postgres")
    return dsn, dsn.rsplit("/", 1)[0] + "/bloat"


def fmt_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def load_bloat(db: Db, rows: int, path: str) -> float:
    """Complete `rows` deliveries in db with autovacuum off for the outbox and no VACUUM; seconds taken."""
    db.admin.execute("ALTER TABLE msteams.outbox SET (autovacuum_enabled = off)")
    t0 = time.perf_counter()
    chunk = 100_000
    for lo in range(0, rows, chunk):
        n = min(chunk, rows - lo)
        db.load_outbox(n)
        if path == "api":
            drain(db.dsn, 2, lambda c, w: api_cycle(c, w, 1000))
        else:
            with db.admin.transaction():
                db.admin.execute("""
                    UPDATE msteams.outbox SET locked_by = 'bloat', lease_id = gen_random_uuid(),
                           attempt_count = attempt_count + 1, available_at = now() + interval '2 minutes'
                     WHERE locked_by IS NULL""")
            with db.admin.transaction():
                db.admin.execute("""
                    WITH gone AS (DELETE FROM msteams.outbox WHERE locked_by = 'bloat' RETURNING *)
                    INSERT INTO msteams.notification_deliveries
                           (tenant, delivery_id, attempt_number, status, final, internal_notification_id, category,
                            priority, destination_type, destination_id, idempotency_key, status_code,
                            provider_request_id, worker, latency_ms, enqueued_at, sent_at)
                    SELECT tenant, delivery_id, attempt_count, 'sent', true, internal_notification_id, category,
                           priority, destination_type, destination_id, enqueue_key || '-1', 201,
                           'req-' || delivery_id, 'bloat', 180, created_at, now()
                      FROM gone""")
        print(f"  bloat load: {lo + n:,} deliveries completed ({time.perf_counter() - t0:.0f} s)", flush=True)
    if path == "sql":
        # production's claims would have marked the dead index entries as they passed; one claim does it here
        db.load_outbox(1)
        drain(db.dsn, 1, lambda c, w: api_cycle(c, w, BATCH))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000, help="deliveries per trial")
    ap.add_argument("--rounds", type=int, default=3, help="trials per method and session count")
    ap.add_argument("--sessions", default="1,2,4")
    ap.add_argument("--per-delivery-rows", type=int, default=1_000,
                    help="deliveries per trial of the complete_delivery (one call each) variant")
    ap.add_argument("--bloat-rows", type=int, default=1_000_000)
    ap.add_argument("--bloat-path", choices=["api", "sql"], default="sql")
    ap.add_argument("--bloat-rounds", type=int, default=5)
    ap.add_argument("--stale-rows", type=int, default=1_000,
                    help="deliveries per trial on the bloated outbox ANALYZEd while empty")
    ap.add_argument("--stats", action="store_true", help="print pg_stat_statements' top statements")
    args = ap.parse_args()
    sessions = [int(s) for s in args.sessions.split(",")]

    settings = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all"}
    with bench_database(settings=settings) as dsn0:
        fresh_dsn, bloat_dsn = setup_cluster(dsn0)
        print(machine_line(fresh_dsn))
        fresh = Db(fresh_dsn, "fresh")

        def api_trial(db: Db, k: int, n: int, per_delivery: bool = False, timings: list | None = None) -> float:
            db.load_outbox(n)
            wall, done = drain(db.dsn, k, lambda c, w: api_cycle(c, w, BATCH, per_delivery, timings))
            assert done == n, (done, n)
            return n / wall

        def minimal_trial(db: Db, k: int, n: int) -> float:
            db.load_queue(n)
            wall, done = drain(db.dsn, k, lambda c, w: minimal_cycle(c, BATCH))
            assert done == n, (done, n)
            return n / wall

        # warm-up: plans prepared, caches filled
        api_trial(fresh, 1, 2_000)
        minimal_trial(fresh, 1, 2_000)

        # 1. Fresh: API vs minimal queue, alternately, per session count.
        results = []
        for k in sessions:
            api, minimal, single, timings = [], [], [], []
            for _ in range(args.rounds):
                api.append(api_trial(fresh, k, args.rows, timings=timings if k == 1 else None))
                minimal.append(minimal_trial(fresh, k, args.rows))
                single.append(api_trial(fresh, k, args.per_delivery_rows, per_delivery=True))
            a, m, s = median(api), median(minimal), median(single)
            results.append((k, a, m, s, timings))
        rows = []
        for k, a, m, s, timings in results:
            r = a / m
            rows.append((f"{k} session{'s' if k > 1 else ''}",
                         f"API {a:,.0f}/s · minimal queue {m:,.0f}/s · ratio {r:.2f} "
                         f"(target ≥ 0.5: {'met' if r >= 0.5 else 'NOT met'}) · "
                         f"complete_delivery per delivery {s:,.0f}/s"))
        report(f"Claim {BATCH} → complete {BATCH}, {args.rows:,} deliveries per trial, {args.rounds} trials each, "
               f"alternately (median deliveries/s)", rows)
        timings = results[0][4]
        if timings:
            print(f"  1 session, per cycle of {BATCH}: claim_deliveries {median([t[0] for t in timings]) * 1e3:.2f} ms, "
                  f"complete_deliveries {median([t[1] for t in timings]) * 1e3:.2f} ms (medians)")
        if args.stats:
            print_stats(fresh.admin)

        # 2. Under bloat.
        if args.bloat_rows > 0:
            bloat = Db(bloat_dsn, "bloat")
            fresh.admin.execute("VACUUM msteams.outbox")   # "fresh" = what autovacuum keeps it like
            print(f"\nLoading the bloat database: {args.bloat_rows:,} deliveries through claim/complete "
                  f"({args.bloat_path} path), autovacuum off for msteams.outbox …")
            secs = load_bloat(bloat, args.bloat_rows, args.bloat_path)
            time.sleep(1)   # let the statistics catch up
            size, live, dead, idx = bloat.outbox_state()
            fsize, flive, fdead, fidx = fresh.outbox_state()
            print(f"  loaded in {secs:.0f} s ({args.bloat_rows / secs:,.0f} deliveries/s): outbox {fmt_bytes(size)} "
                  f"(claim index {fmt_bytes(idx)}), {dead:,} dead tuples; fresh database: outbox {fmt_bytes(fsize)}, "
                  f"{fdead:,} dead tuples")

            def cycle_ms(timings: list) -> str:
                return (f"claim {median([t[0] for t in timings]) * 1e3:.1f} ms + "
                        f"complete {median([t[1] for t in timings]) * 1e3:.1f} ms per {BATCH}")

            # (a) The target's case: autovacuum off for the outbox (so no auto-ANALYZE either: the
            # planner has never seen statistics for it), no VACUUM.
            fr, br, tf, tb = [], [], [], []
            for _ in range(args.bloat_rounds):
                fr.append(api_trial(fresh, 1, args.rows, timings=tf))
                br.append(api_trial(bloat, 1, args.rows, timings=tb))
            f, b = median(fr), median(br)
            ratio = f / b
            size2, live2, dead2, idx2 = bloat.outbox_state()
            rows = [
                (f"fresh database ({args.bloat_rounds} trials of {args.rows:,})", f"{f:,.0f} deliveries/s ({cycle_ms(tf)})"),
                (f"{args.bloat_rows:,} completed, no VACUUM", f"{b:,.0f} deliveries/s ({cycle_ms(tb)})"),
                ("slow-down", f"{ratio:.2f}× (target ≤ 2×: {'met' if ratio <= 2 else 'NOT met'})"),
            ]
            explain_claim(bloat, "bloated")
            explain_claim(fresh, "fresh")
            if args.stats:
                print_stats(bloat.admin)
            # (b) The same outbox ANALYZEd at a moment it holds no live row, as autovacuum's ANALYZE
            # of a drained queue often finds it: the planner then believes it is empty.
            bloat.admin.execute("ANALYZE msteams.outbox")
            sf, sb, tf, tb = [], [], [], []
            for _ in range(2):
                sf.append(api_trial(fresh, 1, args.stale_rows, timings=tf))
                sb.append(api_trial(bloat, 1, args.stale_rows, timings=tb))
            rows.append((f"same, ANALYZEd while empty (2 trials of {args.stale_rows:,})",
                         f"{median(sb):,.0f} deliveries/s ({cycle_ms(tb)}) vs fresh {median(sf):,.0f}/s: "
                         f"{median(sf) / median(sb):.1f}×"))
            report(f"Under bloat: claim {BATCH} → complete {BATCH}, 1 session, alternately with the fresh database "
                   f"(medians); {dead2:,} dead tuples in the bloated outbox after (a)", rows)
            # (c) What VACUUM gives back.
            t0 = time.perf_counter()
            bloat.admin.execute("VACUUM msteams.outbox")
            vac = time.perf_counter() - t0
            va = [api_trial(bloat, 1, args.rows) for _ in range(3)]
            size3, _, dead3, idx3 = bloat.outbox_state()
            print(f"  after VACUUM msteams.outbox ({vac:.1f} s): {median(va):,.0f} deliveries/s, outbox {fmt_bytes(size3)}, "
                  f"claim index {fmt_bytes(idx3)}, dead tuples {dead3:,}")


def explain_claim(db: Db, label: str) -> None:
    """The plan of the claim statement inside claim_deliveries (auto_explain, ANALYZE, BUFFERS) for
    one claim of 100, rolled back: shows how many index pages the claim walks."""
    db.load_outbox(BATCH)
    lines: list[str] = []
    with psycopg.connect(db.dsn) as conn:
        conn.execute("LOAD 'auto_explain'")
        for k, v in {"log_min_duration": "0", "log_nested_statements": "on", "log_analyze": "on",
                     "log_buffers": "on", "log_timing": "off"}.items():
            conn.execute(f"SET auto_explain.{k} = {v}")
        conn.execute("SET client_min_messages = log")
        conn.add_notice_handler(lambda d: lines.append(d.message_primary or ""))
        conn.execute("SET ROLE msteams_runner")
        t0 = time.perf_counter()
        conn.execute("SELECT * FROM msteams.claim_deliveries('explain', %s)", (BATCH,)).fetchall()
        ms = (time.perf_counter() - t0) * 1e3
        conn.rollback()
    plan = next((m for m in lines if "WITH due AS" in m), "")
    scans = [ln.strip() for ln in plan.splitlines() if "Index Scan using outbox_claim_idx" in ln or "Buffers" in ln]
    print(f"  one claim of {BATCH} ({label} database, {ms:.1f} ms with auto_explain): "
          + "; ".join(scans[:4]))
    drain(db.dsn, 1, lambda c, w: api_cycle(c, w, BATCH))


def print_stats(conn: psycopg.Connection) -> None:
    print("\n  pg_stat_statements, top by total time:")
    for q, calls, total, mean, hit, read in conn.execute(
            """SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90), calls, total_exec_time, mean_exec_time,
                      shared_blks_hit, shared_blks_read
                 FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"""):
        print(f"  {total:8.0f} ms {calls:7d} calls {mean:7.3f} ms/call {hit / max(calls, 1):8.0f} hit/call  {q}")
    conn.execute("SELECT pg_stat_statements_reset()")


if __name__ == "__main__":
    main()
