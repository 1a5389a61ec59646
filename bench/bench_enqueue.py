"""Enqueue overhead: msteams.enqueue_notification / enqueue_notifications vs a plain INSERT.

Measured in one run on one durable PostgreSQL (bench/_common.py), alternately, same client,
same connection (autocommit, one round trip per call), as msteams_app (SET ROLE) for a tenant
with an active integration and Graph credentials, so every delivery is queued (not skipped):

1. Single: `msteams.enqueue_notification(...)` once per delivery vs a plain
   `INSERT INTO bench.outbox_plain VALUES (...)` of the same row (the outbox's columns, no index,
   no key, no constraint). Target: enqueue costs ≤ 2× the plain INSERT.
2. Bulk: `msteams.enqueue_notifications(tenant, <1,000 deliveries>)` once vs 1,000 single
   `enqueue_notification` calls. Target: ≥ 10× faster. For information, the plain bulk baseline:
   `INSERT … SELECT … FROM unnest(<arrays of 1,000>)` into the plain table.

Every array and JSON value goes to PostgreSQL as a binary parameter, and bulk JSON is serialised
before the clock starts (DESIGN §14), so the figures measure the database, not the client.

Run: /tmp/v/bin/python bench/bench_enqueue.py [--rounds 15] [--single 300] [--bulk-rounds 10] [--stats]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid

import psycopg
from psycopg.types.json import Jsonb

from _common import alternate, bench_database, machine_line, median, report, timed

TENANT = uuid.UUID("00000000-0000-0000-0000-00000000e001")
CATEGORY, PRIORITY, DTYPE = "assignment", "high", "user_activity"
PAYLOAD = {
    "topic": {"source": "text", "value": "Ticket 42", "webUrl": "https://psa.example.com/t/42"},
    "activityType": "systemDefault",
    "previewText": {"content": "Ticket 42 was assigned to you"},
    "templateParameters": [{"name": "systemDefaultText", "value": "Ticket 42 was assigned to you"}],
}
PAYLOAD_JSON = json.dumps(PAYLOAD)

SETUP = """
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE SCHEMA bench;
-- The outbox's columns, no index, no key, no constraint, no trigger: the cheapest durable write
-- of the same row.
CREATE TABLE bench.outbox_plain (
    tenant uuid NOT NULL, delivery_id bigserial, available_at timestamptz NOT NULL DEFAULT now(),
    attempt_count smallint NOT NULL DEFAULT 0, max_attempts smallint NOT NULL, locked_by text, lease_id uuid,
    priority text NOT NULL, category text NOT NULL, destination_type text NOT NULL, destination_id text NOT NULL,
    transport text NOT NULL, conversation_id text, internal_notification_id text NOT NULL,
    enqueue_key text NOT NULL, event_type text, correlation_id text, expires_at timestamptz,
    last_error_code text, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
GRANT USAGE ON SCHEMA bench TO msteams_app;
GRANT INSERT ON bench.outbox_plain TO msteams_app;
GRANT USAGE ON SEQUENCE bench.outbox_plain_delivery_id_seq TO msteams_app;
"""

ENQUEUE_ONE = """SELECT delivery_id, status FROM msteams.enqueue_notification(
    %(t)s, %(cat)s, %(prio)s, %(dtype)s, %(dest)s, %(payload)s, %(inid)s)"""
PLAIN_ONE = """INSERT INTO bench.outbox_plain (tenant, max_attempts, priority, category, destination_type,
    destination_id, transport, internal_notification_id, enqueue_key, expires_at, payload)
    VALUES (%(t)s, 6, %(prio)s, %(cat)s, %(dtype)s, %(dest)s, 'graph', %(inid)s, %(key)s,
            now() + interval '7 days', %(payload)s)"""
# For information: the two rows enqueue writes (the idempotency key, the outbox row), as plain
# INSERTs into the real, indexed tables, as the owner: the floor under any enqueue with this schema.
FLOOR_ONE = """WITH k AS (INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id)
              VALUES (%(t)s, 'enqueue', %(key)s, nextval('msteams.delivery_id_seq')) RETURNING ref_id)
INSERT INTO msteams.outbox (tenant, delivery_id, max_attempts, priority, category, destination_type,
    destination_id, transport, internal_notification_id, enqueue_key, expires_at, payload)
SELECT %(t)s, k.ref_id, 6, %(prio)s, %(cat)s, %(dtype)s, %(dest)s, 'graph', %(inid)s, %(key)s,
       now() + interval '7 days', %(payload)s FROM k"""
ENQUEUE_MANY = "SELECT count(*) FILTER (WHERE status = 'queued') FROM msteams.enqueue_notifications(%(t)s, %(items)s)"
PLAIN_MANY = """INSERT INTO bench.outbox_plain (tenant, max_attempts, priority, category, destination_type,
    destination_id, transport, internal_notification_id, enqueue_key, expires_at, payload)
    SELECT %(t)s, 6, %(prio)s, %(cat)s, %(dtype)s, u.dest, 'graph', u.inid, u.key, now() + interval '7 days', u.payload
      FROM unnest(%(dests)s::text[], %(inids)s::text[], %(keys)s::text[], %(payloads)s::jsonb[]) AS u(dest, inid, key, payload)"""


class Ids:
    """Fresh internal notification ids, so no call is a repeat."""

    def __init__(self) -> None:
        self.n = 0

    def take(self, k: int) -> list[str]:
        out = [f"n-{self.n + i}" for i in range(k)]
        self.n += k
        return out


def dest(i: int) -> str:
    return str(uuid.UUID(int=0xAAAA0000_0000_0000_0000_000000000000 + i % 5000))


def key(inid: str, d: str) -> str:
    return hashlib.sha256(f"{inid}|{TENANT}|{DTYPE}|{d}".encode()).hexdigest()


def raw_jsonb(text: str) -> Jsonb:
    """A jsonb parameter already serialised (binary format: version byte + text)."""
    return Jsonb(text, dumps=lambda s: s)


def setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute("SELECT msteams.upsert_integration(%s, 'active', true, %s, 'app-bench', 'env:BENCH_SECRET', "
                     "'bot-bench', NULL, 'teams-app-bench')", (TENANT, "11111111-1111-1111-1111-111111111111"))


def app_connection(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET ROLE msteams_app")
    return conn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15, help="single-call rounds (each method, alternately)")
    ap.add_argument("--single", type=int, default=300, help="calls per single-call round")
    ap.add_argument("--bulk-rounds", type=int, default=10, help="bulk rounds (each method, alternately)")
    ap.add_argument("--batch", type=int, default=1000, help="deliveries per bulk call")
    ap.add_argument("--stats", action="store_true", help="print pg_stat_statements' top statements at the end")
    args = ap.parse_args()

    settings = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all"}
    with bench_database(settings=settings) as dsn:
        setup(dsn)
        print(machine_line(dsn))
        ids = Ids()
        payload = raw_jsonb(PAYLOAD_JSON)
        with app_connection(dsn) as conn:
            def single_args(inid: str, i: int) -> dict:
                d = dest(i)
                return {"t": TENANT, "cat": CATEGORY, "prio": PRIORITY, "dtype": DTYPE, "dest": d,
                        "payload": payload, "inid": inid, "key": key(inid, d)}

            def enqueue_singles(k: int):
                batch = [single_args(inid, i) for i, inid in enumerate(ids.take(k))]   # built before the clock

                def run() -> None:
                    for a in batch:
                        row = conn.execute(ENQUEUE_ONE, a, binary=True).fetchone()
                        assert row[1] == "queued", row
                return run

            def plain_singles(k: int, sql: str = PLAIN_ONE, on: psycopg.Connection = conn):
                batch = [single_args(inid, i) for i, inid in enumerate(ids.take(k))]

                def run() -> None:
                    for a in batch:
                        on.execute(sql, a, binary=True)
                return run

            owner = psycopg.connect(dsn, autocommit=True)

            # Warm up: plans prepared (psycopg prepares after 5 executions), caches filled.
            enqueue_singles(50)()
            plain_singles(50)()
            plain_singles(50, FLOOR_ONE, owner)()

            # 1. Single calls, alternately (and the floor, for information, in the same rounds).
            e_times, p_times, f_times = [], [], []
            for _ in range(args.rounds):
                m, b = enqueue_singles(args.single), plain_singles(args.single)
                a1, b1 = alternate(1, m, b)
                e_times += a1
                p_times += b1
                f_times.append(timed(plain_singles(args.single, FLOOR_ONE, owner)))
            e_call = median(e_times) / args.single
            p_call = median(p_times) / args.single
            f_call = median(f_times) / args.single
            ratio1 = e_call / p_call
            report(f"Single calls: {args.rounds} rounds of {args.single} autocommit calls each, alternately (medians)", [
                ("enqueue_notification", f"{e_call * 1e3:.3f} ms/call, {1 / e_call:,.0f} rows/s"),
                ("plain INSERT, unindexed table", f"{p_call * 1e3:.3f} ms/call, {1 / p_call:,.0f} rows/s"),
                ("overhead ratio", f"{ratio1:.2f}× (target ≤ 2×: {'met' if ratio1 <= 2 else 'NOT met'})"),
                ("info: key + outbox row, plain INSERTs into the real tables",
                 f"{f_call * 1e3:.3f} ms/call ({f_call / p_call:.2f}× the plain INSERT)"),
            ])

            # 2. Bulk: one call of `batch` vs `batch` single calls; plus the plain bulk INSERT.
            def bulk_enqueue():
                inids = ids.take(args.batch)
                items = json.dumps([{"category": CATEGORY, "priority": PRIORITY, "destination_type": DTYPE,
                                     "destination_id": dest(i), "payload": PAYLOAD,
                                     "internal_notification_id": inid} for i, inid in enumerate(inids)])
                a = {"t": TENANT, "items": raw_jsonb(items)}

                def run() -> None:
                    n = conn.execute(ENQUEUE_MANY, a, binary=True).fetchone()[0]
                    assert n == args.batch, n
                return run

            def bulk_plain():
                inids = ids.take(args.batch)
                dests = [dest(i) for i in range(args.batch)]
                a = {"t": TENANT, "prio": PRIORITY, "cat": CATEGORY, "dtype": DTYPE, "dests": dests, "inids": inids,
                     "keys": [key(x, d) for x, d in zip(inids, dests)], "payloads": [payload] * args.batch}

                def run() -> None:
                    conn.execute(PLAIN_MANY, a, binary=True)
                return run

            bulk_enqueue()()
            bulk_plain()()
            b_times, s_times, pb_times = [], [], []
            for _ in range(args.bulk_rounds):
                m, b, c = bulk_enqueue(), enqueue_singles(args.batch), bulk_plain()
                a1, b1 = alternate(1, m, b)
                b_times += a1
                s_times += b1
                pb_times.append(timed(c))
            bulk, singles, plain_bulk = median(b_times), median(s_times), median(pb_times)
            ratio2 = singles / bulk
            report(f"Bulk: {args.bulk_rounds} rounds of {args.batch:,} deliveries each way, alternately (medians)", [
                (f"enqueue_notifications ({args.batch:,}/call)", f"{bulk * 1e3:.1f} ms/call, {args.batch / bulk:,.0f} rows/s"),
                (f"{args.batch:,} × enqueue_notification", f"{singles * 1e3:.0f} ms, {args.batch / singles:,.0f} rows/s"),
                ("bulk speed-up", f"{ratio2:.1f}× (target ≥ 10×: {'met' if ratio2 >= 10 else 'NOT met'})"),
                (f"plain INSERT … unnest ({args.batch:,}/call), info",
                 f"{plain_bulk * 1e3:.1f} ms/call, {args.batch / plain_bulk:,.0f} rows/s "
                 f"(enqueue_notifications costs {bulk / plain_bulk:.1f}× this)"),
            ])

        with psycopg.connect(dsn, autocommit=True) as conn:
            sizes = conn.execute("""SELECT (SELECT count(*) FROM msteams.outbox),
                                           (SELECT count(*) FROM msteams.idempotency_keys),
                                           (SELECT count(*) FROM bench.outbox_plain)""").fetchone()
            print(f"\nrows at the end: outbox {sizes[0]:,}, idempotency_keys {sizes[1]:,}, plain table {sizes[2]:,}")
            if args.stats:
                print("\npg_stat_statements, top by total time:")
                for q, calls, total, mean in conn.execute(
                        """SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 110), calls,
                                  total_exec_time, mean_exec_time
                             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15"""):
                    print(f"  {total:9.0f} ms {calls:8d} calls {mean:8.3f} ms/call  {q}")


if __name__ == "__main__":
    main()
