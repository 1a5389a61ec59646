"""Retention: dropping a month's partition vs deleting its rows, with writers running alongside.

Measured in one run on one durable PostgreSQL (bench/_common.py), each method against its own copy
of the same data:

1. Ledger: one month of N rows (default 3,000,000) removed by
   `msteams.cleanup_notification_deliveries` (drops the partition) vs a plain
   `DELETE FROM msteams.notification_deliveries WHERE created_at < …` of an identical month.
   Two writers run throughout, one autocommit single-row INSERT at a time:
   - "enqueue": a plain INSERT into msteams.outbox as the owner. It stands in for
     enqueue_notification (the enqueue path's table is the outbox; the function adds validation
     and an idempotency-key insert, not locks on the ledger);
   - "ledger": a plain INSERT into the current month of msteams.notification_deliveries (what
     complete_delivery/record_delivery write). The partition drop takes ACCESS EXCLUSIVE on the
     ledger's parent for the drop itself, so this is the writer that could wait.
   For each method: the writers' rate and latency (p50, p99, max) during it, next to an idle
   window of the same length just before.
2. Audit: one month of M audit rows (default 1,000,000) removed by `msteams.cleanup_audit_events`
   vs a batched DELETE (10,000 rows per transaction, the append-only switch set per batch).
3. Idempotency keys (what cleanup_notification_deliveries prunes with the ledger): K keys
   (default 1,000,000) older than the cutoff removed by one indexed DELETE (what the function does)
   vs a loop of 10,000-row DELETEs inside one transaction (the alternative considered).

Run: .venv/bin/python bench/bench_retention.py [--rows 3000000] [--audit-rows 1000000] [--keys 1000000]
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg

from _common import LEDGER_WRITE, OUTBOX_WRITE, BackgroundWriter, bench_database, fmt_window, machine_line, report

CHUNK = 500_000


def load_ledger_month(conn: psycopg.Connection, month: str, rows: int, first_id: int) -> None:
    """rows ledger rows spread over the month starting at `month`, 50 tenants."""
    for lo in range(0, rows, CHUNK):
        hi = min(rows, lo + CHUNK)
        conn.execute(
            """
            INSERT INTO msteams.notification_deliveries
                (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id,
                 category, priority, destination_type, destination_id, idempotency_key, event_type,
                 enqueued_at, sent_at, provider_request_id, worker, latency_ms)
            SELECT ('00000000-0000-0000-0000-' || lpad((g %% 50)::text, 12, '0'))::uuid, ts,
                   %(first)s + g, 1, 'sent', true, 'notif-' || g, 'assignment', 'high', 'user_activity',
                   'user-' || (g %% 5000), md5(g::text) || md5((g + 1)::text), 'ticket_assigned',
                   ts - interval '2 seconds', ts, md5(g::text), 'runner-1', 180 + g %% 300
              FROM generate_series(%(lo)s, %(hi)s - 1) AS g,
                   LATERAL (SELECT %(month)s::timestamptz + g * (interval '27 days' / %(rows)s)) AS t(ts)
            """,
            {"first": first_id, "lo": lo, "hi": hi, "month": month, "rows": rows},
        )
        conn.commit()


def load_audit_month(conn: psycopg.Connection, month: str, rows: int) -> None:
    for lo in range(0, rows, CHUNK):
        hi = min(rows, lo + CHUNK)
        conn.execute(
            """
            INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id,
                                              target_type, target_id, result_status, payload_hash, activity_id)
            SELECT ('00000000-0000-0000-0000-' || lpad((g %% 50)::text, 12, '0'))::uuid,
                   %(month)s::timestamptz + g * (interval '27 days' / %(rows)s), 'bot', 'add_note',
                   'aad-' || (g %% 5000), 'ticket', 'T-' || g, 'success', md5(g::text) || md5((g + 7)::text),
                   'act-' || g
              FROM generate_series(%(lo)s, %(hi)s - 1) AS g
            """,
            {"lo": lo, "hi": hi, "month": month, "rows": rows},
        )
        conn.commit()


def load_keys(conn: psycopg.Connection, month: str, rows: int, prefix: str) -> None:
    for lo in range(0, rows, CHUNK):
        hi = min(rows, lo + CHUNK)
        conn.execute(
            """
            INSERT INTO msteams.idempotency_keys (tenant, scope, idempotency_key, ref_id, created_at)
            SELECT ('00000000-0000-0000-0000-' || lpad((g %% 50)::text, 12, '0'))::uuid, 'enqueue',
                   %(prefix)s || md5(g::text), g, %(month)s::timestamptz + g * (interval '27 days' / %(rows)s)
              FROM generate_series(%(lo)s, %(hi)s - 1) AS g
            """,
            {"lo": lo, "hi": hi, "month": month, "rows": rows, "prefix": prefix},
        )
        conn.commit()


def drop_os_cache() -> bool:
    """Empty the OS page cache (root only), so a method reads a months-old partition from disk as
    it would in production instead of from memory; False when not permitted here."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def wal_bytes(conn: psycopg.Connection, since: str) -> int:
    return int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (since,)).fetchone()[0])


def lsn(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def settle(conn: psycopg.Connection) -> None:
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE) msteams.notification_deliveries")
    conn.execute("VACUUM (ANALYZE) msteams.audit_events")
    conn.execute("VACUUM (ANALYZE) msteams.idempotency_keys")
    conn.execute("CHECKPOINT")     # the connection stays in autocommit from here on


COLD = [False]   # set in main(): drop the OS cache before each measured method


WAL = [0]       # WAL bytes written during the last measured() call (the writers' few included)


def measured(writers: list[BackgroundWriter], fn, idle: float | None = None, conn: psycopg.Connection | None = None
             ) -> tuple[float, dict, dict]:
    """Run fn with the writers going; return (seconds, {writer: window during}, {writer: idle window after})."""
    if COLD[0]:
        drop_os_cache()
    start_lsn = lsn(conn) if conn is not None else None
    t0 = time.perf_counter()
    fn()
    t1 = time.perf_counter()
    if conn is not None:
        WAL[0] = wal_bytes(conn, start_lsn)
    span = t1 - t0
    idle_span = max(span, 1.0) if idle is None else idle
    if idle_span > 0:
        time.sleep(idle_span)      # an idle window (writers only), right after the work
    t2 = time.perf_counter()
    # A very short call gets a 50 ms window, so that a writer stalled by it is still seen.
    during = {w.name: w.window(t0, max(t1, t0 + 0.05)) for w in writers}
    after = {w.name: w.window(t2 - idle_span, t2) for w in writers} if idle_span > 0 else {}
    return span, during, after


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=3_000_000, help="ledger rows per month copy")
    ap.add_argument("--audit-rows", type=int, default=1_000_000, help="audit rows per month copy")
    ap.add_argument("--keys", type=int, default=1_000_000, help="idempotency keys per copy")
    ap.add_argument("--warm", action="store_true",
                    help="do not empty the OS page cache before each method (default: empty it when root)")
    args = ap.parse_args()

    with bench_database() as dsn:
        print(machine_line(dsn))
        COLD[0] = not args.warm and drop_os_cache()
        print("OS page cache emptied before each method (cold: old months are read from disk)" if COLD[0]
              else "warm OS page cache (old months may be read from memory)")
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT msteams.ensure_partitions(3, p_now => '2020-01-15 00:00+00')")
            conn.commit()
            t = time.perf_counter()
            load_ledger_month(conn, "2020-01-01 00:00+00", args.rows, 0)             # dropped
            load_ledger_month(conn, "2020-02-01 00:00+00", args.rows, args.rows)     # deleted
            load_audit_month(conn, "2020-01-01 00:00+00", args.audit_rows)           # dropped
            load_audit_month(conn, "2020-02-01 00:00+00", args.audit_rows)           # batch-deleted
            # Keys dated after the ledger's cutoff, so that the ledger comparison measures the
            # partition drop alone; their pruning is measured on its own in part 3.
            load_keys(conn, "2020-03-01 00:00+00", args.keys, "a-")                  # one DELETE
            load_keys(conn, "2020-04-01 00:00+00", args.keys, "b-")                  # 10k batches
            load_s = time.perf_counter() - t
            settle(conn)
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('msteams.notification_deliveries_p202001'))"
                                ).fetchone()[0]
            print(f"loaded 2 x {args.rows:,} ledger rows ({size} per month with indexes), 2 x {args.audit_rows:,} "
                  f"audit rows, 2 x {args.keys:,} idempotency keys in {load_s:.0f} s")

            writers = [
                BackgroundWriter(dsn, "enqueue (INSERT into outbox)", lambda c, n: c.execute(OUTBOX_WRITE, {"n": n})),
                BackgroundWriter(dsn, "ledger (INSERT, this month)", lambda c, n: c.execute(LEDGER_WRITE, {"n": n})),
            ]
            for w in writers:
                w.start()
            time.sleep(2.0)   # writers warmed up

            # --- 1. ledger -----------------------------------------------------------------
            dropped: list = []

            def by_partition() -> None:
                # Cutoff 2020-02-01: only January's partition lies wholly before it.
                dropped.extend(conn.execute(
                    "SELECT partition_name, rows_dropped FROM msteams.cleanup_notification_deliveries("
                    "'1 day', p_now => '2020-02-02 00:00+00')").fetchall())

            def by_delete() -> None:
                conn.execute("DELETE FROM msteams.notification_deliveries WHERE created_at < '2020-03-01 00:00+00'")

            def vacuum() -> None:      # what it takes to get the space of the DELETEd rows back
                conn.execute("VACUUM msteams.notification_deliveries_p202002")

            drop_s, drop_during, drop_idle = measured(writers, by_partition, idle=2.0, conn=conn)
            drop_wal = WAL[0]
            assert [name for name, _ in dropped] == ["notification_deliveries_p202001"], dropped
            conn.execute("CHECKPOINT")
            size_before = conn.execute("SELECT pg_total_relation_size('msteams.notification_deliveries_p202002')"
                                       ).fetchone()[0]
            delete_s, delete_during, delete_idle = measured(writers, by_delete, idle=2.0, conn=conn)
            delete_wal = WAL[0]
            left = conn.execute("SELECT count(*) FROM msteams.notification_deliveries WHERE created_at < '2020-03-01'"
                                ).fetchone()[0]
            assert left == 0, left
            size_deleted = conn.execute("SELECT pg_total_relation_size('msteams.notification_deliveries_p202002')"
                                        ).fetchone()[0]
            vacuum_s, vacuum_during, _ = measured(writers, vacuum, idle=0.0, conn=conn)
            vacuum_wal = WAL[0]
            size_vacuumed = conn.execute("SELECT pg_total_relation_size('msteams.notification_deliveries_p202002')"
                                         ).fetchone()[0]

            mb = 1024 * 1024
            rows = [("cleanup_notification_deliveries (DROP partition)",
                     f"{drop_s * 1e3:.1f} ms (reported rows_dropped {dropped[0][1]:,}); {size_before / mb:,.0f} MB freed at commit"),
                    ("DELETE … WHERE created_at < …", f"{delete_s:.2f} s; table still {size_deleted / mb:,.0f} MB"),
                    ("then VACUUM to reclaim it", f"{vacuum_s:.2f} s; table then {size_vacuumed / mb:,.0f} MB"),
                    ("WAL written during the call (the writers' few kB included)",
                     f"DROP {drop_wal / mb:,.1f} MB, DELETE {delete_wal / mb:,.0f} MB, VACUUM {vacuum_wal / mb:,.0f} MB"),
                    ("ratio, DELETE alone / DROP", f"{delete_s / drop_s:,.0f}x"),
                    ("ratio, DELETE + VACUUM / DROP", f"{(delete_s + vacuum_s) / drop_s:,.0f}x")]
            for w in writers:
                rows += [(f"{w.name}, during the DROP", fmt_window(drop_during[w.name])),
                         (f"{w.name}, idle 2 s after it", fmt_window(drop_idle[w.name])),
                         (f"{w.name}, during the DELETE", fmt_window(delete_during[w.name])),
                         (f"{w.name}, idle 2 s after it", fmt_window(delete_idle[w.name])),
                         (f"{w.name}, during the VACUUM", fmt_window(vacuum_during[w.name]))]
            report(f"ledger retention: one month of {args.rows:,} rows", rows)

            # --- 2. audit ------------------------------------------------------------------
            conn.execute("CHECKPOINT")
            audit_dropped: list = []

            def audit_by_partition() -> None:
                audit_dropped.extend(conn.execute(
                    "SELECT partition_name, rows_dropped FROM msteams.cleanup_audit_events("
                    "'1 day', p_now => '2020-02-02 00:00+00')").fetchall())

            batches = [0]

            def audit_by_batches() -> None:
                conn.autocommit = False
                while True:
                    conn.execute("SET LOCAL msteams.audit_removal = on")
                    cur = conn.execute(
                        """DELETE FROM msteams.audit_events_p202002 AS a
                            WHERE a.ctid = ANY (ARRAY(SELECT s.ctid FROM msteams.audit_events_p202002 AS s
                                                       WHERE s.created_at < '2020-03-01 00:00+00' LIMIT 10000))""")
                    conn.commit()
                    batches[0] += 1
                    if cur.rowcount == 0:
                        break
                conn.autocommit = True

            adrop_s, _, _ = measured(writers, audit_by_partition, idle=0.0)
            assert [name for name, _ in audit_dropped] == ["audit_events_p202001"], audit_dropped
            conn.execute("CHECKPOINT")
            abatch_s, abatch_during, _ = measured(writers, audit_by_batches, idle=0.0)
            report(f"audit retention: one month of {args.audit_rows:,} rows", [
                ("cleanup_audit_events (DROP partition)", f"{adrop_s * 1e3:.1f} ms"),
                (f"batched DELETE ({batches[0]} transactions of ≤10,000)", f"{abatch_s:.2f} s"),
                ("ratio", f"{abatch_s / adrop_s:,.0f}x faster by partition"),
                *[(f"{w.name}, during the batched DELETE", fmt_window(abatch_during[w.name])) for w in writers],
            ])

            # --- 3. idempotency keys --------------------------------------------------------
            conn.execute("CHECKPOINT")

            def keys_one_delete() -> None:
                with conn.transaction():
                    conn.execute("""DELETE FROM msteams.idempotency_keys AS k
                                     WHERE k.scope IN ('enqueue', 'delivery') AND k.created_at < '2020-04-01 00:00+00'""")

            def keys_batched() -> None:
                with conn.transaction():
                    conn.execute("""
                        DO $$
                        DECLARE v_n bigint;
                        BEGIN
                            LOOP
                                DELETE FROM msteams.idempotency_keys AS k
                                 WHERE k.ctid = ANY (ARRAY(
                                       SELECT s.ctid FROM msteams.idempotency_keys AS s
                                        WHERE s.scope IN ('enqueue', 'delivery')
                                          AND s.created_at < '2020-05-01 00:00+00' LIMIT 10000));
                                GET DIAGNOSTICS v_n = ROW_COUNT;
                                EXIT WHEN v_n = 0;
                            END LOOP;
                        END $$""")

            one_s, _, _ = measured(writers, keys_one_delete, idle=0.0)
            conn.execute("CHECKPOINT")
            loop_s, _, _ = measured(writers, keys_batched, idle=0.0)
            left = conn.execute("SELECT count(*) FROM msteams.idempotency_keys WHERE created_at < '2020-05-01'").fetchone()[0]
            assert left == 0, left
            report(f"idempotency key pruning: {args.keys:,} keys, inside one transaction", [
                ("one indexed DELETE (BRIN on created_at)", f"{one_s:.2f} s ({args.keys / one_s:,.0f} rows/s)"),
                ("loop of 10,000-row DELETEs", f"{loop_s:.2f} s ({args.keys / loop_s:,.0f} rows/s)"),
            ])

            for w in writers:
                w.stop.set()
            for w in writers:
                w.join()


if __name__ == "__main__":
    main()
