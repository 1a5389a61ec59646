"""`pgteams status`: the queue, per-tenant health, unacknowledged critical, dead letters.

Reads the views as the connecting role: an msteams_admin member sees every tenant; a reader sees
the tenant given with --tenant (msteams.tenant). A readable table for a terminal, or --json.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import click
import psycopg
from psycopg.rows import dict_row

from ..postgres import one_line

SECTIONS = {
    "queue": "SELECT tenant, due, leased, expired_leases, scheduled, total, oldest_due_age "
             "FROM msteams.queue_status ORDER BY total DESC, tenant",
    "health": "SELECT tenant, sent, delivered, failed_final, retried, skipped, failure_rate, "
              "p50_latency_ms, p95_latency_ms, error_codes FROM msteams.delivery_health ORDER BY tenant",
    "unacknowledged_critical": "SELECT tenant, count(*) AS deliveries, max(age) AS oldest "
                               "FROM msteams.unacknowledged_critical GROUP BY tenant ORDER BY oldest DESC",
    "dead_letters": "SELECT tenant, error_code, count(*) AS deliveries, max(closed_at) AS latest "
                    "FROM msteams.dead_letters GROUP BY tenant, error_code ORDER BY deliveries DESC, tenant",
}
TITLES = {
    "queue": "Queue (msteams.queue_status)",
    "health": "Last 24 hours per tenant (msteams.delivery_health)",
    "unacknowledged_critical": "Critical/high sent without a response (msteams.unacknowledged_critical)",
    "dead_letters": "Dead letters (msteams.dead_letters)",
}


def collect(dsn: str, tenant: str | None = None) -> dict[str, list[dict]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        if tenant:
            conn.execute("SELECT set_config('msteams.tenant', %s, false)", (tenant,))
        return {name: conn.execute(sql).fetchall() for name, sql in SECTIONS.items()}


def _plain(value):
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds(), 1)
    if isinstance(value, (dt.datetime, uuid.UUID)):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.timedelta):
        s = int(value.total_seconds())
        return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-"
    if isinstance(value, uuid.UUID):
        return str(value)[:8] + "…"
    return str(value)


def render(data: dict[str, list[dict]]) -> str:
    out = []
    for name, rows in data.items():
        out.append(TITLES[name])
        if not rows:
            out.append("  (none)\n")
            continue
        cols = list(rows[0].keys())
        cells = [[_cell(r[c]) for c in cols] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
        out.append("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        out.extend("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)
        out.append("")
    return "\n".join(out)


@click.command("status")
@click.option("--dsn", envvar="PGTEAMS_DSN", required=True, help="Database to read (msteams_admin sees every tenant).")
@click.option("--tenant", help="Read as this tenant (sets msteams.tenant; needed without msteams_admin).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(dsn: str, tenant: str | None, as_json: bool) -> None:
    """Queue status, per-tenant health, unacknowledged critical and dead letters."""
    try:
        data = collect(dsn, tenant)
    except psycopg.Error as exc:
        click.echo(f"pgteams: status: {one_line(exc)}", err=True)
        raise SystemExit(1)
    if as_json:
        click.echo(json.dumps({k: [{c: _plain(v) for c, v in r.items()} for r in rows] for k, rows in data.items()},
                              indent=2))
    else:
        click.echo(render(data))
