"""Ledger write amplification: bytes of WAL per delivery, the API's full cycle vs a minimal queue.

One durable PostgreSQL (bench/_common.py; checkpoints pushed out of the measured windows with
checkpoint_timeout=1h and max_wal_size=16GB). WAL is read as the difference of
pg_current_wal_insert_lsn() around each call; autovacuum is off for the tables involved so that
every byte is charged to the step that wrote it, and the VACUUM the workload needs is run and
charged at the end of each round instead.

- API, batches of 100, each call its own autocommit transaction:
  `msteams.enqueue_notifications(tenant, <100 deliveries>)` (as msteams_app) →
  `msteams.claim_deliveries(worker, 100)` → `msteams.complete_deliveries(worker, <100 outcomes,
  status sent>)` (as msteams_runner); then `VACUUM msteams.outbox`.
- Minimal queue, batches of 100: `INSERT INTO bench.queue (payload) SELECT … 100 rows` →
  `DELETE … WHERE id IN (SELECT id … FOR UPDATE SKIP LOCKED LIMIT 100) RETURNING`; then
  `VACUUM bench.queue`.

Two regimes, alternately, R rounds each: "steady" (no checkpoint inside the round: no full-page
images except for pages first dirtied since the last one) and "after CHECKPOINT" (a CHECKPOINT
just before the round, so the first change to every page it touches writes the whole 8 kB page:
the worst case, which production pays once per page per checkpoint interval). A per-record-type
breakdown (pg_walinspect) of one steady API round is printed too.

No target: the figures are the reference, so that a change that doubles them shows.

Run: /tmp/v/bin/python bench/bench_wal.py [--deliveries 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import uuid

import psycopg
from psycopg.types.json import Jsonb

from _common import bench_database, machine_line, median, report

TENANTS = [uuid.UUID(int=0x3A10_0000_0000_0000_0000_000000000000 + i) for i in range(10)]
BATCH = 100
PAYLOAD = {
    "topic": {"source": "text", "value": "Ticket 42", "webUrl": "https://psa.example.com/t/42"},
    "activityType": "systemDefault",
    "previewText": {"content": "Ticket 42 was assigned to you"},
    "templateParameters": [{"name": "systemDefaultText", "value": "Ticket 42 was assigned to you"}],
}
TABLES = ["msteams.outbox", "msteams.idempotency_keys", "bench.queue"]   # + the ledger's partitions

SETUP = """
CREATE EXTENSION IF NOT EXISTS pg_walinspect;
CREATE SCHEMA bench;
CREATE TABLE bench.queue (id bigserial PRIMARY KEY, payload jsonb NOT NULL);
GRANT USAGE ON SCHEMA bench TO msteams_runner;
GRANT SELECT, INSERT, UPDATE, DELETE ON bench.queue TO msteams_runner;
GRANT USAGE ON SEQUENCE bench.queue_id_seq TO msteams_runner;
"""
LSN = "SELECT pg_current_wal_insert_lsn()"
ENQUEUE = "SELECT count(*) FROM msteams.enqueue_notifications(%s, %s)"
CLAIM = "SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries(%s, %s)"
COMPLETE = "SELECT count(*) FROM msteams.complete_deliveries(%s, %s)"
Q_INSERT = "INSERT INTO bench.queue (payload) SELECT %s::jsonb FROM generate_series(1, %s)"
Q_DELETE = """DELETE FROM bench.queue WHERE id IN (
    SELECT id FROM bench.queue ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s) RETURNING id, payload"""


class Meter:
    """WAL bytes written by each step, read around every call on the admin connection."""

    def __init__(self, admin: psycopg.Connection) -> None:
        self.admin = admin
        self.bytes: dict[str, int] = {}

    def lsn(self):
        return self.admin.execute(LSN).fetchone()[0]

    def run(self, step: str, fn) -> object:
        a = self.lsn()
        out = fn()
        b = self.lsn()
        n = self.admin.execute("SELECT pg_wal_lsn_diff(%s, %s)::bigint", (b, a)).fetchone()[0]
        self.bytes[step] = self.bytes.get(step, 0) + n
        return out


def raw_jsonb(text: str) -> Jsonb:
    return Jsonb(text, dumps=lambda s: s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deliveries", type=int, default=5000, help="deliveries per round (multiple of 100)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    batches = args.deliveries // BATCH
    n = batches * BATCH

    settings = {"checkpoint_timeout": "1h", "max_wal_size": "16GB"}
    with bench_database(settings=settings) as dsn:
        admin = psycopg.connect(dsn, autocommit=True)
        admin.execute(SETUP)
        for t in TENANTS:
            admin.execute("SELECT msteams.upsert_integration(%s, 'active', true, %s, 'app-bench', 'env:BENCH_SECRET')",
                          (t, "11111111-1111-1111-1111-111111111111"))
        for t in TABLES:
            admin.execute(f"ALTER TABLE {t} SET (autovacuum_enabled = off)")
        for (part,) in admin.execute("SELECT inhrelid::regclass::text FROM pg_inherits "
                                     "WHERE inhparent = 'msteams.notification_deliveries'::regclass").fetchall():
            admin.execute(f"ALTER TABLE {part} SET (autovacuum_enabled = off)")
        print(machine_line(dsn))
        full_page_writes = admin.execute("SHOW full_page_writes").fetchone()[0]
        wal_level = admin.execute("SHOW wal_level").fetchone()[0]
        print(f"wal_level={wal_level}, full_page_writes={full_page_writes}, wal_compression="
              f"{admin.execute('SHOW wal_compression').fetchone()[0]}")

        app = psycopg.connect(dsn, autocommit=True)
        app.execute("SET ROLE msteams_app")
        runner = psycopg.connect(dsn, autocommit=True)
        runner.execute("SET ROLE msteams_runner")
        seq = [0]

        def api_round(m: Meter) -> None:
            for b in range(batches):
                t = TENANTS[b % len(TENANTS)]
                items = []
                for i in range(BATCH):
                    seq[0] += 1
                    items.append({"category": "assignment", "priority": "high", "destination_type": "user_activity",
                                  "destination_id": f"aaaaaaaa-0000-0000-0000-{seq[0] % 5000:012d}", "payload": PAYLOAD,
                                  "internal_notification_id": f"w-{seq[0]}"})
                doc = raw_jsonb(json.dumps(items))
                q = m.run("enqueue", lambda: app.execute(ENQUEUE, (t, doc), binary=True).fetchone()[0])
                assert q == BATCH, q
                rows = m.run("claim", lambda: runner.execute(CLAIM, ("wal-bench", BATCH), binary=True).fetchall())
                assert len(rows) == BATCH, len(rows)
                outcomes = raw_jsonb(json.dumps([
                    {"tenant": str(r[0]), "delivery_id": r[1], "lease_id": str(r[2]), "status": "sent",
                     "status_code": 201, "error_code": None, "error_message": None, "provider_message_id": None,
                     "provider_request_id": f"req-{r[1]}", "retry_after_seconds": None, "latency_ms": 180}
                    for r in rows]))
                c = m.run("complete", lambda: runner.execute(COMPLETE, ("wal-bench", outcomes), binary=True).fetchone()[0])
                assert c == BATCH, c
            m.run("VACUUM", lambda: admin.execute("VACUUM msteams.outbox"))

        payload = json.dumps(PAYLOAD)

        def queue_round(m: Meter) -> None:
            for _ in range(batches):
                m.run("insert", lambda: runner.execute(Q_INSERT, (payload, BATCH)))
                rows = m.run("delete", lambda: runner.execute(Q_DELETE, (BATCH,)).fetchall())
                assert len(rows) == BATCH, len(rows)
            m.run("VACUUM", lambda: admin.execute("VACUUM bench.queue"))

        # warm-up: plans, caches, and every page both workloads keep using has had its image logged
        api_round(Meter(admin))
        queue_round(Meter(admin))

        results = {}
        for regime in ("steady", "after CHECKPOINT"):
            api, queue = [], []
            for _ in range(args.rounds):
                for kind, fn, out in (("api", api_round, api), ("queue", queue_round, queue)):
                    if regime != "steady":
                        admin.execute("CHECKPOINT")
                    m = Meter(admin)
                    fn(m)
                    out.append(m.bytes)
            results[regime] = (api, queue)

        def per(rounds: list[dict[str, int]], step: str | None = None) -> float:
            return median([(r[step] if step else sum(r.values())) / n for r in rounds])

        rows = []
        for regime, (api, queue) in results.items():
            a, q = per(api), per(queue)
            rows.append((f"{regime}: API", f"{a:,.0f} B/delivery  (enqueue {per(api, 'enqueue'):,.0f} · "
                                           f"claim {per(api, 'claim'):,.0f} · complete {per(api, 'complete'):,.0f} · "
                                           f"VACUUM {per(api, 'VACUUM'):,.0f})"))
            rows.append((f"{regime}: minimal queue", f"{q:,.0f} B/delivery  (insert {per(queue, 'insert'):,.0f} · "
                                                     f"delete {per(queue, 'delete'):,.0f} · "
                                                     f"VACUUM {per(queue, 'VACUUM'):,.0f})"))
            rows.append((f"{regime}: ratio", f"{a / q:.1f}×"))
        report(f"WAL per delivery, batches of {BATCH}, {n:,} deliveries per round, {args.rounds} rounds per method "
               f"and regime, alternately (medians)", rows)

        # Where the API's bytes go: one steady round, by record type (pg_walinspect); one round first,
        # so that the pages dirtied since the last CHECKPOINT above have had their images logged.
        api_round(Meter(admin))
        start = admin.execute(LSN).fetchone()[0]
        api_round(Meter(admin))
        admin.execute("CREATE TEMP TABLE flush_wal (x int); DROP TABLE flush_wal")   # a commit flushes the WAL
        end = admin.execute("SELECT pg_current_wal_flush_lsn()").fetchone()[0]
        stats = admin.execute("""
            SELECT "resource_manager/record_type", count, combined_size, fpi_size
              FROM pg_get_wal_stats(%s, %s, per_record => true)
             WHERE count > 0 ORDER BY combined_size DESC""", (start, end)).fetchall()
        total = sum(s[2] for s in stats) or 1
        print(f"\n  One steady API round ({n:,} deliveries) by record type (pg_walinspect; records ≥ 1 %):")
        for rm, count, size, fpi in stats:
            if size / total < 0.01:
                continue
            print(f"    {rm:<24} {count / n:>6.2f} records/delivery  {size / n:>7,.0f} B/delivery  ({size / total:5.1%}"
                  f"{f', of which full-page images {fpi / n:,.0f} B' if fpi else ''})")


if __name__ == "__main__":
    main()
