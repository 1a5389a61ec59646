"""Reads at depth: msteams.list_deliveries page 1 vs page 1,000 (keyset), against OFFSET paging.

One durable PostgreSQL (bench/_common.py). The ledger msteams.notification_deliveries gets R rows
spread evenly over 50 tenants and the last 4 months (the current month and the 3 before it; each
monthly partition made with ensure_partitions), generated with `INSERT … SELECT generate_series`
straight into the table as the owner. Each tenant has R/50 rows, and page 1,000 of 50 rows starts
49,950 rows deep. The default R is 3,000,000 (60,000 rows per tenant; it loads in about 1.5 minutes
here); `--rows 10000000` gives the 10 M-row ledger of docs/benchmarks.md (about 5 minutes to load).

Measured as msteams_reader (SET ROLE) with msteams.tenant set, so row-level security applies,
for 3 tenants in turn, alternately, each sample the median of a burst of calls:

- keyset page 1: `list_deliveries(tenant, p_limit => 50)`;
- keyset page 1,000: the same call with the cursor of page 1,000, obtained by following
  next_cursor 999 times from page 1 (the paging itself is timed and reported too);
- OFFSET page 1 and page 1,000: the same query list_deliveries runs (newest first on
  (created_at, ledger_id), same columns, same RLS) with `LIMIT 50 OFFSET 0` / `OFFSET 49950`.

Target: page 1,000 within 2× of page 1 (keyset). The OFFSET ratio is printed alongside.

Run: /tmp/v/bin/python bench/bench_reads.py [--rows 3000000] [--rounds 5] [--burst 20] [--offset-burst 5]
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from _common import bench_database, machine_line, median, report

TENANTS = 50
PAGE = 50
DEPTH = 1000
CHUNK = 1_000_000
MEASURED = [uuid.UUID(int=0x5EAD_0000_0000_0000_0000_000000000000 + i) for i in (7, 23, 41)]

LOAD = """
INSERT INTO msteams.notification_deliveries
    (tenant, created_at, ledger_id, delivery_id, attempt_number, status, final, internal_notification_id,
     category, priority, destination_type, destination_id, idempotency_key, event_type, correlation_id,
     status_code, error_code, retryable, provider_request_id, worker, latency_ms, enqueued_at, sent_at,
     delivered_at)
SELECT ('5ead0000-0000-0000-0000-' || lpad(to_hex(g %% 50), 12, '0'))::uuid, ts, g, g, 1,
       s.status, true, 'notif-' || lpad((g / 3)::text, 10, '0'), c.category, p.priority, 'user_activity',
       'aaaaaaaa-0000-0000-0000-' || lpad((g %% 5000)::text, 12, '0'),
       md5(g::text) || md5((g + 1)::text), 'ticket_assigned', 'corr-' || (g / 3),
       CASE s.status WHEN 'failed' THEN 403 WHEN 'skipped' THEN NULL ELSE 201 END,
       CASE s.status WHEN 'failed' THEN 'graph_unauthorized' WHEN 'skipped' THEN 'user_not_mapped' END,
       CASE WHEN s.status IN ('failed', 'skipped') THEN false END,
       CASE WHEN s.status IN ('sent', 'delivered') THEN md5((g * 7)::text) END,
       'runner-' || (g %% 4), 150 + g %% 300, ts - interval '2 seconds',
       CASE WHEN s.status IN ('sent', 'delivered') THEN ts END,
       CASE WHEN s.status = 'delivered' THEN ts + interval '1 second' END
  FROM generate_series(%(lo)s, %(hi)s) AS g
 CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (g - 1) * %(step)s::interval AS ts) AS t
 CROSS JOIN LATERAL (SELECT (ARRAY['sent','sent','sent','sent','sent','sent','delivered','delivered','failed','skipped'])[1 + g %% 10] AS status) AS s
 CROSS JOIN LATERAL (SELECT (ARRAY['assignment','assignment','customer_reply','approval_request','escalation','sla_risk'])[1 + g %% 6] AS category) AS c
 CROSS JOIN LATERAL (SELECT (ARRAY['critical','high','high','medium','medium','medium','low','info'])[1 + g %% 8] AS priority) AS p
"""

# The query list_deliveries runs (sql/functions/list_deliveries.sql), paged with OFFSET instead.
OFFSET_QUERY = """
SELECT d.ledger_id, d.delivery_id, d.created_at, d.status, d.final, d.attempt_number,
       d.internal_notification_id, d.category, d.priority, d.destination_type, d.destination_id,
       d.event_type, d.correlation_id, d.status_code, d.error_code, d.error_message, d.retryable,
       d.provider_message_id, d.provider_request_id, d.retry_at, d.enqueued_at, d.sent_at,
       d.delivered_at, d.responded_at, d.response_action
  FROM msteams.notification_deliveries AS d
 WHERE d.tenant = %s
 ORDER BY d.created_at DESC, d.ledger_id DESC
 LIMIT %s OFFSET %s"""
KEYSET = "SELECT * FROM msteams.list_deliveries(%s, p_limit => %s, p_cursor => %s)"


def month_start(t: datetime) -> datetime:
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def load(dsn: str, rows: int) -> tuple[float, datetime, datetime]:
    """Generate the rows month by month. Each month's partition is made by ensure_partitions in the
    same transaction as its rows (the current month's, empty since migrate, is dropped first), so
    with wal_level=minimal PostgreSQL writes the new files directly instead of through the WAL."""
    now = datetime.now(timezone.utc)
    months = [month_start(now)]
    for _ in range(3):
        months.insert(0, month_start(months[0] - timedelta(days=1)))
    end = now - timedelta(minutes=5)
    step = (end - months[0]) / rows
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        current = conn.execute("SELECT partition_name FROM msteams.ensure_partitions(0) UNION ALL "
                               "SELECT format('notification_deliveries_p%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMM'))"
                               ).fetchall()[-1][0]
        assert conn.execute(f"SELECT count(*) FROM msteams.{current}").fetchone()[0] == 0
        conn.execute(f"DROP TABLE msteams.{current}")
        done = 0
        for i, m in enumerate(months):
            upper = months[i + 1] if i + 1 < len(months) else end + timedelta(seconds=1)
            # rows whose created_at falls in [m, upper): g from lo to hi
            lo = done + 1
            hi = rows if i + 1 == len(months) else min(rows, int((upper - months[0]) / step))
            with conn.transaction():
                conn.execute("SELECT count(*) FROM msteams.ensure_partitions(0, p_now => %s)", (m + timedelta(days=1),))
                for a in range(lo, hi + 1, CHUNK):
                    conn.execute(LOAD, {"lo": a, "hi": min(hi, a + CHUNK - 1), "start": months[0], "step": step})
            done = hi
            print(f"  {m:%Y-%m}: {hi - lo + 1:,} rows, {done:,} in all ({time.perf_counter() - t0:.0f} s)", flush=True)
        conn.execute("SELECT setval('msteams.notification_deliveries_ledger_id_seq', %s)", (rows,))
        conn.execute("VACUUM (ANALYZE) msteams.notification_deliveries")
        stray = conn.execute("SELECT count(*) FROM msteams.notification_deliveries_default").fetchone()[0]
        assert stray == 0, f"{stray} rows in the default partition"
    return time.perf_counter() - t0, months[0], end


def reader(dsn: str, tenant: uuid.UUID) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET ROLE msteams_reader")
    conn.execute("SELECT set_config('msteams.tenant', %s, false)", (str(tenant),))
    return conn


def burst(conn: psycopg.Connection, sql: str, params: tuple, n: int) -> float:
    """Median seconds of n calls (each fetches its whole page)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t0)
        assert len(rows) == PAGE, len(rows)
    return median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=3_000_000, help="ledger rows (50 tenants, 4 months)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--burst", type=int, default=20, help="calls per sample (keyset pages, OFFSET page 1)")
    ap.add_argument("--offset-burst", type=int, default=5, help="calls per sample of OFFSET page 1,000")
    args = ap.parse_args()
    per_tenant = args.rows // TENANTS
    if per_tenant < PAGE * DEPTH:
        raise SystemExit(f"--rows {args.rows:,} gives {per_tenant:,} rows per tenant; page {DEPTH:,} needs "
                         f"{PAGE * DEPTH:,} (use at least {PAGE * DEPTH * TENANTS:,})")

    # wal_level=minimal only speeds up the load (see load()); the reads do not write.
    settings = {"wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "8GB",
                "checkpoint_timeout": "30min", "maintenance_work_mem": "512MB"}
    with bench_database(settings=settings) as dsn:
        print(machine_line(dsn))
        print(f"Loading {args.rows:,} ledger rows (50 tenants, 4 months) …", flush=True)
        secs, first, end = load(dsn, args.rows)
        with psycopg.connect(dsn, autocommit=True) as conn:
            size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                                "WHERE inhparent = 'msteams.notification_deliveries'::regclass").fetchone()[0]
        print(f"  {args.rows:,} rows in {secs:.0f} s ({args.rows / secs:,.0f} rows/s); ledger with indexes {size}; "
              f"{first:%Y-%m-%d} to {end:%Y-%m-%d %H:%M}, {per_tenant:,} rows per tenant")

        conns = {t: reader(dsn, t) for t in MEASURED}
        cursors, paging = {}, []
        for t, conn in conns.items():
            cursor = None
            t0 = time.perf_counter()
            for _ in range(DEPTH - 1):       # follow next_cursor from page 1 to page 1,000
                rows = conn.execute(KEYSET, (t, PAGE, cursor)).fetchall()
                cursor = rows[-1][-1]
                assert cursor, "ran out of pages"
            paging.append(time.perf_counter() - t0)
            cursors[t] = cursor

        # Same rows both ways: keyset page 1,000 is OFFSET page 1,000.
        for t, conn in conns.items():
            k = [r[0] for r in conn.execute(KEYSET, (t, PAGE, cursors[t])).fetchall()]
            o = [r[0] for r in conn.execute(OFFSET_QUERY, (t, PAGE, PAGE * (DEPTH - 1))).fetchall()]
            assert k == o, "keyset and OFFSET pages differ"

        k1, k1000, o1, o1000 = [], [], [], []
        for r in range(args.rounds):
            for t, conn in conns.items():
                k1.append(burst(conn, KEYSET, (t, PAGE, None), args.burst))
                k1000.append(burst(conn, KEYSET, (t, PAGE, cursors[t]), args.burst))
                o1.append(burst(conn, OFFSET_QUERY, (t, PAGE, 0), args.burst))
                o1000.append(burst(conn, OFFSET_QUERY, (t, PAGE, PAGE * (DEPTH - 1)), args.offset_burst))
        mk1, mk1000, mo1, mo1000 = median(k1), median(k1000), median(o1), median(o1000)
        ratio = mk1000 / mk1
        report(f"list_deliveries, {PAGE} rows per page, {len(MEASURED)} tenants × {args.rounds} rounds, "
               f"each sample the median of {args.burst} calls ({args.offset_burst} for OFFSET page {DEPTH:,}), "
               f"alternately (medians, client-side wall time)", [
                   ("keyset page 1", f"{mk1 * 1e3:.2f} ms"),
                   (f"keyset page {DEPTH:,}", f"{mk1000 * 1e3:.2f} ms"),
                   (f"keyset page {DEPTH:,} / page 1", f"{ratio:.2f}× (target ≤ 2×: {'met' if ratio <= 2 else 'NOT met'})"),
                   ("OFFSET page 1", f"{mo1 * 1e3:.2f} ms"),
                   (f"OFFSET page {DEPTH:,} (OFFSET {PAGE * (DEPTH - 1):,})", f"{mo1000 * 1e3:.2f} ms"),
                   (f"OFFSET page {DEPTH:,} / page 1", f"{mo1000 / mo1:.1f}×"),
                   (f"OFFSET / keyset at page {DEPTH:,}", f"{mo1000 / mk1000:.1f}×"),
                   (f"reaching page {DEPTH:,} by next_cursor",
                    f"{median(paging):.2f} s for {DEPTH - 1} calls ({median(paging) / (DEPTH - 1) * 1e3:.2f} ms/page)"),
               ])
        conn = conns[MEASURED[0]]
        for label, sql, params in (("keyset page 1", "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + KEYSET,
                                    (MEASURED[0], PAGE, None)),
                                   ("keyset page 1,000", "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + KEYSET,
                                    (MEASURED[0], PAGE, cursors[MEASURED[0]])),
                                   ("OFFSET page 1,000", "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + OFFSET_QUERY,
                                    (MEASURED[0], PAGE, PAGE * (DEPTH - 1)))):
            plan = [r[0] for r in conn.execute(sql, params).fetchall()]
            bufs = next((ln.strip() for ln in plan if "Buffers" in ln), "")
            exe = next((ln.strip() for ln in plan if "Execution Time" in ln), "")
            print(f"  {label}: {bufs}; {exe}")
        for c in conns.values():
            c.close()


if __name__ == "__main__":
    main()
