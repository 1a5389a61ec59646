"""Talking to PostgreSQL, the same way in every pgteams process: how a connection is made, and
how an error is printed.

Every long-lived connection (the runner's claim, report, listener, housekeeping and maintenance
connections) is made from :func:`conninfo`, so none of them can hang on a half-open TCP
connection or an endless statement (STYLE Part 3 item 9).
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def conninfo(dsn: str, application_name: str, *, statement_timeout_ms: int | None = None,
             pgbouncer: bool = False) -> str:
    """The DSN plus TCP keepalives, a TCP user timeout, a connect timeout, and (unless behind
    PgBouncer, which refuses the ``options`` startup parameter: set timeouts in its config)
    statement and idle-in-transaction timeouts. The DSN's own values win."""
    params = conninfo_to_dict(dsn)
    if statement_timeout_ms is not None and not pgbouncer:
        options = params.get("options") or ""
        options += (f" -c statement_timeout={statement_timeout_ms}"
                    f" -c idle_in_transaction_session_timeout={max(statement_timeout_ms * 2, 60000)}")
        params["options"] = options.strip()
    params.update(
        application_name=params.get("application_name") or application_name,
        keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
        tcp_user_timeout=60000, connect_timeout=params.get("connect_timeout") or 10,
    )
    return make_conninfo(**params)


def one_line(exc: psycopg.Error) -> str:
    """A PostgreSQL error as one printable line: the server's message and the SQLSTATE, never a
    traceback."""
    diag = getattr(exc, "diag", None)
    text = diag.message_primary if diag is not None and diag.message_primary else str(exc)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    msg = lines[0] if lines else type(exc).__name__
    return msg + (f" [{exc.sqlstate}]" if getattr(exc, "sqlstate", None) else "")
