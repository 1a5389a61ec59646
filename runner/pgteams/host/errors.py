"""The exceptions of the host library, chosen by SQLSTATE (never by the message text)."""

from __future__ import annotations

from typing import Optional

import psycopg


class PgTeamsError(Exception):
    """A refusal of the pgteams SQL API. ``sqlstate``, ``field`` (the argument, e.g. ``priority``
    or ``deliveries``), ``hint`` (how to fix it) come from the database error's diagnostics."""

    sqlstate: str = ""

    def __init__(self, message: str, *, sqlstate: str, field: Optional[str] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.field = field
        self.hint = hint


class InvalidArgument(PgTeamsError):
    """22023 (a bad value) or 22004 (a required argument is NULL)."""


class NotFound(PgTeamsError):
    """P0002: what the call refers to does not exist for this tenant (a delivery, a route)."""


class WrongState(PgTeamsError):
    """55000: not allowed in the current state (e.g. retry of a delivery that was sent)."""


class NotAllowed(PgTeamsError):
    """42501: the role may not call the function, or the tenant is not the one in msteams.tenant."""


_BY_SQLSTATE: dict[str, type[PgTeamsError]] = {
    "22023": InvalidArgument, "22004": InvalidArgument, "P0002": NotFound, "55000": WrongState,
    "42501": NotAllowed,
}


def map_error(exc: BaseException) -> BaseException:
    """The pgteams exception for a psycopg error, chosen by its SQLSTATE (the error itself when
    the SQLSTATE is not one of the API's)."""
    if not isinstance(exc, psycopg.Error):
        return exc
    cls = _BY_SQLSTATE.get(exc.sqlstate or "")
    if cls is None:
        return exc
    diag = exc.diag
    mapped = cls(diag.message_primary or str(exc), sqlstate=exc.sqlstate or "", field=diag.column_name,
                 hint=diag.message_hint)
    mapped.__cause__ = exc
    return mapped
