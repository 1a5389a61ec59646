"""Acting for one tenant: ``SET LOCAL msteams.tenant`` for the length of a block.

Row-level security scopes every read of the host's role to the tenant in ``msteams.tenant``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import psycopg

from .driver import Tenant, tenant_param

SET_TENANT = "SELECT set_config('msteams.tenant', %s, true)"
GET_TENANT = "SELECT current_setting('msteams.tenant', true)"
_IDLE = psycopg.pq.TransactionStatus.IDLE
_INTRANS = psycopg.pq.TransactionStatus.INTRANS


@contextlib.contextmanager
def tenant_context(conn: psycopg.Connection, tenant: Tenant) -> Iterator[psycopg.Connection]:
    """Act for ``tenant`` (``SET LOCAL msteams.tenant``) for the length of the block.

    Outside a transaction it opens one (committed at the end of the block, rolled back on an
    exception), so the block is the host's business transaction. Inside one it only sets the
    tenant, and puts the previous value back when the block ends."""
    value = tenant_param(tenant)
    if conn.info.transaction_status == _IDLE:
        with conn.transaction():
            conn.execute(SET_TENANT, (value,))
            yield conn
        return
    prev = conn.execute(GET_TENANT).fetchone()[0]
    conn.execute(SET_TENANT, (value,))
    try:
        yield conn
    finally:
        if conn.info.transaction_status == _INTRANS:
            conn.execute(SET_TENANT, (prev or "",))


@contextlib.asynccontextmanager
async def async_tenant_context(conn: psycopg.AsyncConnection, tenant: Tenant) -> AsyncIterator[psycopg.AsyncConnection]:
    """The async twin of :func:`tenant_context`."""
    value = tenant_param(tenant)
    if conn.info.transaction_status == _IDLE:
        async with conn.transaction():
            await conn.execute(SET_TENANT, (value,))
            yield conn
        return
    prev = (await (await conn.execute(GET_TENANT)).fetchone())[0]
    await conn.execute(SET_TENANT, (value,))
    try:
        yield conn
    finally:
        if conn.info.transaction_status == _INTRANS:
            await conn.execute(SET_TENANT, (prev or "",))
