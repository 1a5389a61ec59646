"""Lifecycle at scale: scheduled maintenance (partitions ahead, retention) and tenant purge.

Everything that decides lives in SQL (`msteams.ensure_partitions`, `cleanup_notification_deliveries`,
`cleanup_audit_events`, `purge_tenant`); this module only calls those functions in the right
transactions and prints what they did.

- `run_maintenance` runs each maintenance function in **its own transaction** (STYLE Part 3 item 5:
  creating and dropping partitions in one transaction can deadlock and roll back the new
  partitions). A failing step does not undo the others; the errors are collected and reported.
- `purge_tenant` calls `msteams.purge_tenant` again and again, each call its own short transaction
  of at most `batch_size` rows per table, until every table is complete.
- `MaintenanceLeader` lets many runners share one schedule: only the process holding the session
  advisory lock `hashtext('msteams.maintenance_leader')`, on a dedicated connection, runs it.

The click commands `maintain_command` and `purge_command` are registered by `pgteams.cli`.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import click
import psycopg
from psycopg.rows import dict_row

from ..postgres import conninfo, one_line

LEADER_LOCK = "msteams.maintenance_leader"


class PurgeStalled(RuntimeError):
    """A purge call removed nothing while rows of the tenant remain (something keeps writing them)."""


# --- maintenance -------------------------------------------------------------------------------

@dataclass
class _Step:
    name: str
    sql: str
    params: dict[str, Any]


def _steps(months_ahead: int, delivery_retention: timedelta, audit_retention: timedelta,
           now: datetime | None) -> list[_Step]:
    clock = {"now": now} if now is not None else {}
    now_arg = ", p_now => %(now)s" if now is not None else ""
    return [
        _Step("ensure_partitions",
              "SELECT table_name, partition_name, range_start, range_end, moved_rows "
              f"FROM msteams.ensure_partitions(%(months)s{now_arg})",
              {"months": months_ahead, **clock}),
        _Step("cleanup_notification_deliveries",
              "SELECT partition_name, range_start, range_end, rows_dropped "
              f"FROM msteams.cleanup_notification_deliveries(%(retention)s{now_arg})",
              {"retention": delivery_retention, **clock}),
        _Step("cleanup_audit_events",
              "SELECT partition_name, range_start, range_end, rows_dropped "
              f"FROM msteams.cleanup_audit_events(%(retention)s{now_arg})",
              {"retention": audit_retention, **clock}),
    ]


def run_maintenance(dsn: str, *, months_ahead: int = 3,
                    delivery_retention: timedelta = timedelta(days=90),
                    audit_retention: timedelta = timedelta(days=365),
                    now: datetime | None = None) -> dict[str, Any]:
    """Create partitions ahead, then apply both retentions; each step is its own transaction.

    Returns ``{"ensure_partitions": [rows], "cleanup_notification_deliveries": [rows],
    "cleanup_audit_events": [rows], "notices": [str], "errors": {step: "message [SQLSTATE]"}}``.
    A step that fails is rolled back alone and recorded in ``errors``; the later steps still run.
    A lost or refused connection raises the psycopg error. ``now`` (default: the server's
    clock) is passed to the SQL functions as ``p_now``.
    """
    result: dict[str, Any] = {"notices": [], "errors": {}}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        conn.add_notice_handler(lambda diag: result["notices"].append(diag.message_primary or ""))
        for step in _steps(months_ahead, delivery_retention, audit_retention, now):
            try:
                with conn.transaction():
                    result[step.name] = conn.execute(step.sql, step.params).fetchall()
            except psycopg.Error as exc:
                if conn.broken or conn.closed:   # the connection is gone: no later step can run
                    raise
                result[step.name] = []
                result["errors"][step.name] = one_line(exc)
    return result


def maintenance_due(conn: psycopg.Connection) -> bool:
    """True when this connection holds the maintenance leader lock (taking it if it is free).

    `conn` must be a dedicated autocommit connection kept open by the caller: the lock is a
    session advisory lock, held until `pg_advisory_unlock` or the connection ends (not usable
    through a transaction-pooling proxy). Asking again while holding it does not stack the lock.
    """
    row = conn.execute(
        """
        SELECT CASE WHEN EXISTS (
                   SELECT 1 FROM pg_catalog.pg_locks AS l
                    WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid() AND l.granted
                      AND l.objsubid = 1
                      AND ((l.classid::bigint << 32) | l.objid::bigint) = pg_catalog.hashtext(%(key)s)::bigint)
               THEN true
               ELSE pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext(%(key)s)::bigint) END
        """,
        {"key": LEADER_LOCK},
    ).fetchone()
    return bool(row[0])


class MaintenanceLeader:
    """Run scheduled maintenance in at most one process at a time.

    >>> leader = MaintenanceLeader(dsn, interval=timedelta(hours=1))
    >>> leader.try_run()          # in the runner's loop: None unless leader and due
    >>> leader.close()            # on shutdown: frees the lock for another runner at once

    The leader holds a session advisory lock on its own connection; if that connection drops, the
    server frees the lock and another runner takes over on its next `try_run`.
    """

    def __init__(self, dsn: str, *, interval: timedelta = timedelta(hours=1),
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self._dsn = dsn
        self._interval = interval
        self._clock = clock
        self._conn: psycopg.Connection | None = None
        self._last_run: datetime | None = None

    def is_leader(self) -> bool:
        """Take or confirm leadership; False when another process holds it."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._dsn, autocommit=True)
            return maintenance_due(self._conn)
        except psycopg.OperationalError:
            self._drop_connection()   # the lock went with the connection
            return False

    def try_run(self, **kwargs: Any) -> dict[str, Any] | None:
        """Run `run_maintenance(dsn, **kwargs)` if this process leads and the interval has passed."""
        if not self.is_leader():
            return None
        now = self._clock()
        if self._last_run is not None and now - self._last_run < self._interval:
            return None
        result = run_maintenance(self._dsn, **kwargs)
        self._last_run = now
        return result

    def close(self) -> None:
        """Give up leadership (unlock explicitly, so another process can lead immediately)."""
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT pg_catalog.pg_advisory_unlock_all()")
            except psycopg.Error:
                pass
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> "MaintenanceLeader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- purge -------------------------------------------------------------------------------------

@dataclass
class PurgeResult:
    tenant: str
    dry_run: bool
    rows: dict[str, int] = field(default_factory=dict)   # table -> rows removed (dry run: that would be)
    calls: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def purge_tenant(dsn: str, tenant: str | uuid.UUID, *, dry_run: bool = True, force: bool = False,
                 batch_size: int = 10000,
                 progress: Callable[[int, list[dict[str, Any]]], None] | None = None) -> PurgeResult:
    """Purge one tenant: call `msteams.purge_tenant` until every table is complete.

    Each call is its own transaction (autocommit), so an interruption loses nothing: run it again.
    A dry run makes one call and deletes nothing. `progress(call_number, rows)` is called after
    each call with that call's per-table rows (`table_name`, `rows`, `complete`).
    Raises psycopg errors unchanged (55000 while the integration is active and not forced) and
    `PurgeStalled` if a call removes nothing while rows remain.
    """
    result = PurgeResult(tenant=str(tenant), dry_run=dry_run)
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        while True:
            rows = conn.execute(
                "SELECT table_name, rows, complete FROM msteams.purge_tenant(%s, %s, %s, %s)",
                (str(tenant), dry_run, force, batch_size),
            ).fetchall()
            result.calls += 1
            for r in rows:
                result.rows[r["table_name"]] = result.rows.get(r["table_name"], 0) + int(r["rows"])
            if progress is not None:
                progress(result.calls, rows)
            if dry_run or all(r["complete"] for r in rows):
                return result
            if sum(int(r["rows"]) for r in rows) == 0:
                left = ", ".join(r["table_name"] for r in rows if not r["complete"])
                raise PurgeStalled(f"purge of tenant {tenant} made no progress; rows remain in: {left}")


# --- click commands ----------------------------------------------------------------------------

def _fail(message: str) -> None:
    click.echo(f"pgteams: {message}", err=True)
    sys.exit(1)


def _when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d") if ts is not None else "?"


@click.command("maintain")
@click.option("--dsn", envvar="PGTEAMS_DSN", required=True,
              help="libpq connection string or URI of a role granted msteams_admin.")
@click.option("--months-ahead", type=click.IntRange(0, 36), default=3, show_default=True,
              help="Monthly partitions to keep ready beyond the current month.")
@click.option("--delivery-retention-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="Keep the delivery ledger (and its idempotency keys and dead letters) this long.")
@click.option("--audit-retention-days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Keep the audit ledger this long.")
def maintain_command(dsn: str, months_ahead: int, delivery_retention_days: int, audit_retention_days: int) -> None:
    """Create partitions ahead and apply retention (one transaction per step). Run it from cron."""
    try:
        result = run_maintenance(conninfo(dsn, "pgteams-maintain"), months_ahead=months_ahead,
                                 delivery_retention=timedelta(days=delivery_retention_days),
                                 audit_retention=timedelta(days=audit_retention_days))
    except psycopg.Error as exc:
        _fail(one_line(exc))
        return
    created = result.get("ensure_partitions", [])
    click.echo(f"created {len(created)} partition(s)")
    for r in created:
        moved = f", moved {r['moved_rows']:,} row(s) out of the default partition" if r["moved_rows"] else ""
        click.echo(f"  {r['partition_name']:<40} [{_when(r['range_start'])}, {_when(r['range_end'])}){moved}")
    for step, label in (("cleanup_notification_deliveries", "delivery ledger"), ("cleanup_audit_events", "audit ledger")):
        dropped = result.get(step, [])
        total = sum(int(r["rows_dropped"]) for r in dropped)
        click.echo(f"dropped {len(dropped)} {label} partition(s), {total:,} row(s)")
        for r in dropped:
            click.echo(f"  {r['partition_name']:<40} [{_when(r['range_start'])}, {_when(r['range_end'])})"
                       f" {int(r['rows_dropped']):,} row(s)")
    for notice in result["notices"]:
        click.echo(f"note: {notice}")
    if result["errors"]:
        for step, message in result["errors"].items():
            click.echo(f"pgteams: {step}: {message}", err=True)
        sys.exit(1)


@click.command("purge")
@click.option("--dsn", envvar="PGTEAMS_DSN", required=True,
              help="libpq connection string or URI of a role granted msteams_admin.")
@click.option("--tenant", required=True, help="The tenant uuid to remove.")
@click.option("--execute", "execute", is_flag=True,
              help="Delete for real. Without it: a dry run that only counts.")
@click.option("--force", is_flag=True, help="Purge even though the tenant's integration is active.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=10000, show_default=True,
              help="At most this many rows per table per transaction.")
def purge_command(dsn: str, tenant: str, execute: bool, force: bool, batch_size: int) -> None:
    """Remove every row of one tenant from every msteams table (dry run unless --execute)."""
    try:
        tenant_id = uuid.UUID(tenant)
    except ValueError:
        _fail(f"--tenant {tenant!r} is not a uuid")
        return

    def progress(call: int, rows: list[dict[str, Any]]) -> None:
        if not execute:
            return
        removed = sum(int(r["rows"]) for r in rows)
        left = sum(1 for r in rows if not r["complete"])
        click.echo(f"  batch {call}: removed {removed:,} row(s); {left} table(s) still hold rows", err=True)

    try:
        result = purge_tenant(conninfo(dsn, "pgteams-purge"), tenant_id, dry_run=not execute, force=force, batch_size=batch_size,
                              progress=progress)
    except psycopg.Error as exc:
        _fail(one_line(exc))
        return
    except PurgeStalled as exc:
        _fail(str(exc))
        return
    verb = "removed" if execute else "would remove"
    click.echo(f"tenant {tenant_id}: {verb} {result.total:,} row(s)"
               + (f" in {result.calls} batch(es)" if execute else " (dry run: nothing deleted)"))
    for table, n in result.rows.items():
        click.echo(f"  {table:<28} {n:>12,}")
    if not execute:
        click.echo("run again with --execute to delete them")
