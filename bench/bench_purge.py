"""Tenant purge: one tenant with 1,000,000 rows among 10 tenants, removed in batches.

One durable PostgreSQL (bench/_common.py). The purged tenant has --rows rows (80 % ledger over
three monthly partitions, 10 % audit events, 10 % idempotency keys); nine other tenants have a
fifth of that each. `pgteams.ops.maintain.purge_tenant` calls `msteams.purge_tenant(…, batch_size)`
until every table is complete, each call its own transaction. Measured:

- the dry run (counting), and the whole purge: time, rows/s, number of calls;
- the longest single purge_tenant call: the longest time the purge holds its row locks (it takes
  only ROW EXCLUSIVE table locks, which never block other writers);
- a concurrent writer on another tenant (single-row autocommit INSERTs into the ledger and the
  outbox, alternately): rate and latency (p50, p99, max = the longest it waited) during the purge,
  next to an idle window of 5 s just before it.

Run: .venv/bin/python bench/bench_purge.py [--rows 1000000] [--batch-size 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from _common import LEDGER_WRITE, OUTBOX_WRITE, BackgroundWriter, bench_database, fmt_window, machine_line, report
from pgteams.ops.maintain import purge_tenant

TARGET = "00000000-0000-0000-0000-000000000000"
WRITER_TENANT = "00000000-0000-0000-0000-000000000001"
CHUNK = 250_000


def tenant(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def load(conn: psycopg.Connection, t: str, ledger: int, audit: int, keys: int, offset: int) -> None:
    for lo in range(0, ledger, CHUNK):
        hi = min(ledger, lo + CHUNK)
        conn.execute(
            """
            INSERT INTO msteams.notification_deliveries
                (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id,
                 category, priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at,
                 worker, latency_ms)
            SELECT %(t)s, ts, %(off)s + g, 1, 'sent', true, 'notif-' || g, 'assignment', 'high', 'user_activity',
                   'user-' || (g %% 5000), md5(g::text) || md5((g + 1)::text), ts, ts, 'runner-1', 200
              FROM generate_series(%(lo)s, %(hi)s - 1) AS g,
                   LATERAL (SELECT '2020-01-01 00:00+00'::timestamptz + g * (interval '88 days' / %(n)s)) AS x(ts)
            """, {"t": t, "off": offset, "lo": lo, "hi": hi, "n": ledger})
        conn.commit()
    conn.execute(
        """
        INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id, result_status,
                                          payload_hash)
        SELECT %(t)s, '2020-01-01 00:00+00'::timestamptz + g * (interval '88 days' / %(n)s), 'bot', 'add_note',
               'aad-' || (g %% 500), 'success', md5(g::text) || md5((g + 3)::text)
          FROM generate_series(1, %(n)s) AS g
        """, {"t": t, "n": audit})
    conn.execute(
        """
        INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id, created_at)
        SELECT %(t)s, 'enqueue', md5(g::text), g, '2020-01-01 00:00+00'::timestamptz + g * interval '1 second'
          FROM generate_series(1, %(n)s) AS g
        """, {"t": t, "n": keys})
    conn.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the purged tenant")
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=10_000)
    args = ap.parse_args()

    with bench_database() as dsn:
        print(machine_line(dsn))
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT msteams.ensure_partitions(3, p_now => '2020-01-15 00:00+00')")
            conn.execute("INSERT INTO msteams.integrations (tenant, install_status) "
                         "SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, "
                         "       CASE WHEN g = 0 THEN 'inactive' ELSE 'active' END "
                         "  FROM generate_series(0, %s - 1) AS g", (args.tenants,))
            conn.commit()
            t0 = time.perf_counter()
            r = args.rows
            load(conn, TARGET, int(r * 0.8), int(r * 0.1), r - int(r * 0.8) - int(r * 0.1), 0)
            for i in range(1, args.tenants):
                load(conn, tenant(i), int(r * 0.16), int(r * 0.02), int(r * 0.02), i * r)
            conn.autocommit = True
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")
            total = conn.execute("SELECT (SELECT count(*) FROM msteams.notification_deliveries) "
                                 "+ (SELECT count(*) FROM msteams.audit_events) "
                                 "+ (SELECT count(*) FROM msteams.idempotency_keys)").fetchone()[0]
            others_sql = ("SELECT count(*) FROM msteams.notification_deliveries "
                          "WHERE tenant <> %s AND tenant <> %s")     # neither the purged one nor the writer's
            others_before = conn.execute(others_sql, (TARGET, WRITER_TENANT)).fetchone()[0]
            print(f"loaded {total:,} rows for {args.tenants} tenants ({args.rows:,} of the purged one) "
                  f"in {time.perf_counter() - t0:.0f} s")

            writer = BackgroundWriter(dsn, "other tenant", lambda c, n: c.execute(LEDGER_WRITE if n % 2 else OUTBOX_WRITE, {"n": n}))
            writer.start()
            time.sleep(1.0)                      # warm up
            idle_start = time.perf_counter()
            time.sleep(5.0)                      # idle window: the writer alone
            idle_end = time.perf_counter()

            t = time.perf_counter()
            dry = purge_tenant(dsn, TARGET, dry_run=True)
            dry_s = time.perf_counter() - t
            assert dry.total == args.rows + 1, dry.rows     # + the integration row

            calls: list[float] = []
            last = [time.perf_counter()]

            def progress(_n: int, _rows: list) -> None:
                now = time.perf_counter()
                calls.append(now - last[0])
                last[0] = now

            start = time.perf_counter()
            last[0] = start
            done = purge_tenant(dsn, TARGET, dry_run=False, batch_size=args.batch_size, progress=progress)
            end = time.perf_counter()
            writer.stop.set()
            writer.join()

            left = conn.execute("SELECT (SELECT count(*) FROM msteams.notification_deliveries WHERE tenant = %(t)s) "
                                "+ (SELECT count(*) FROM msteams.audit_events WHERE tenant = %(t)s) "
                                "+ (SELECT count(*) FROM msteams.idempotency_keys WHERE tenant = %(t)s)",
                                {"t": TARGET}).fetchone()[0]
            others_after = conn.execute(others_sql, (TARGET, WRITER_TENANT)).fetchone()[0]
            assert left == 0, left
            assert done.total == args.rows + 1, done.rows
            assert others_after == others_before, (others_before, others_after)

            secs = end - start
            calls_sorted = sorted(calls)
            report(f"purge one tenant of {args.rows:,} rows among {args.tenants} tenants "
                   f"(batch_size {args.batch_size:,})", [
                ("dry run (count every table)", f"{dry_s:.2f} s"),
                ("purge, all calls", f"{secs:.1f} s, {done.total / secs:,.0f} rows/s, {done.calls} calls"),
                ("longest single call (longest lock hold)", f"{calls_sorted[-1] * 1e3:.0f} ms"),
                ("median call", f"{statistics.median(calls) * 1e3:.0f} ms"),
                ("other tenant's writer, idle 5 s before", fmt_window(writer.window(idle_start, idle_end))),
                ("other tenant's writer, during the purge", fmt_window(writer.window(start, end))),
                ("rows per table", ", ".join(f"{k} {v:,}" for k, v in done.rows.items() if v)),
            ])


if __name__ == "__main__":
    main()
