"""A PostgreSQL error as one printable line: the server's message and the SQLSTATE, never a traceback."""

from __future__ import annotations

import psycopg


def one_line(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    text = diag.message_primary if diag is not None and diag.message_primary else str(exc)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    msg = lines[0] if lines else type(exc).__name__
    return msg + (f" [{exc.sqlstate}]" if getattr(exc, "sqlstate", None) else "")
