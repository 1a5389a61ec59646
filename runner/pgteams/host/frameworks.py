"""The host wrappers on the connection a web framework already holds: an enqueue joins the
framework's own transaction, on its own connection (no second connection, no second transaction).

Django (psycopg 3 backend), inside ``transaction.atomic()``::

    from django.db import transaction
    from pgteams import host

    with transaction.atomic():
        ticket.save()
        conn = host.django_connection(tenant)
        host.enqueue_notification(conn, tenant, category="assignment", …)

SQLAlchemy 2 (``postgresql+psycopg://``), inside a session's transaction::

    with Session(engine) as session, session.begin():
        session.add(ticket)
        conn = host.sqlalchemy_connection(session, tenant)
        host.enqueue_notification(conn, tenant, category="assignment", …)

Each returns the framework's psycopg connection with ``msteams.tenant`` set for the rest of the
framework's transaction (``set_config(…, true)``: it ends with that transaction). If the framework
rolls back, nothing was queued; if it commits, the runner is woken. Neither function commits.
"""

from __future__ import annotations

from typing import Any

import psycopg

from .driver import Tenant, tenant_param
from .tenant import SET_TENANT


class NotInTransaction(RuntimeError):
    """The framework has no transaction open: an enqueue would commit on its own, outside the
    business transaction it belongs to."""


def _begin_for_tenant(conn: Any, tenant: Tenant, where: str) -> psycopg.Connection:
    if not isinstance(conn, psycopg.Connection):
        raise TypeError(f"{where} does not run on psycopg 3 (found {type(conn).__module__}.{type(conn).__name__}); "
                        "pgteams.host needs the psycopg 3 driver")
    if conn.autocommit:
        raise NotInTransaction(f"{where}'s connection is in autocommit mode: open the framework's transaction "
                               "first, so that the enqueue commits or rolls back with your own writes")
    # The first statement opens the database transaction the framework has begun (psycopg begins
    # it implicitly); from here on the connection is INTRANS, which tenant_context also respects.
    conn.execute(SET_TENANT, (tenant_param(tenant),))
    return conn


def django_connection(tenant: Tenant, using: str = "default") -> psycopg.Connection:
    """Django's psycopg 3 connection for ``using``, inside the current ``transaction.atomic()``
    block, acting for ``tenant``. Raises :class:`NotInTransaction` outside an atomic block."""
    from django.db import connections

    wrapper = connections[using]
    if wrapper.vendor != "postgresql":
        raise TypeError(f"Django database {using!r} is {wrapper.vendor}, not PostgreSQL")
    if not wrapper.in_atomic_block:
        raise NotInTransaction(f"Django database {using!r}: call django_connection inside transaction.atomic()")
    wrapper.ensure_connection()
    return _begin_for_tenant(wrapper.connection, tenant, f"Django database {using!r}")


def sqlalchemy_connection(session_or_connection: Any, tenant: Tenant) -> psycopg.Connection:
    """The psycopg 3 connection under a SQLAlchemy 2 ``Session`` (or ``Connection``), in its
    current transaction, acting for ``tenant``. Raises :class:`NotInTransaction` when the session
    or connection has no transaction begun."""
    connection = session_or_connection
    if hasattr(connection, "in_transaction") and hasattr(connection, "get_bind"):   # a Session
        if not connection.in_transaction():
            raise NotInTransaction("the SQLAlchemy session has no transaction: use session.begin()")
        connection = connection.connection()
    elif not connection.in_transaction():
        raise NotInTransaction("the SQLAlchemy connection has no transaction: use connection.begin()")
    return _begin_for_tenant(connection.connection.driver_connection, tenant, "the SQLAlchemy connection")
