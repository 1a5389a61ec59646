"""How a wrapper runs: written once as a plan, run by a sync or an async driver.

A plan is a generator that yields ``(sql, params, binary)`` steps and receives each step's rows;
:func:`wrapper` turns it into the synchronous wrapper (on a ``psycopg.Connection``) and registers its
asynchronous twin on :data:`aio` (on a ``psycopg.AsyncConnection``). Neither commits, opens a
connection or keeps state: the call runs in the caller's transaction.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable, Generator, Sequence
from typing import Any, Optional, Union

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import InvalidArgument, map_error

JSON = Any
Tenant = Union[str, uuid.UUID]
Step = tuple[str, Sequence[Any], bool]
Plan = Generator[Step, list[dict[str, Any]], Any]


def run_sync(conn: psycopg.Connection, plan: Plan) -> Any:
    try:
        step = next(plan)
        while True:
            sql, params, binary = step
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(sql, params, binary=binary)
                rows = cur.fetchall() if cur.description is not None else []
            step = plan.send(rows)
    except StopIteration as stop:
        return stop.value
    except psycopg.Error as exc:
        raise map_error(exc) from exc


async def run_async(conn: psycopg.AsyncConnection, plan: Plan) -> Any:
    try:
        step = next(plan)
        while True:
            sql, params, binary = step
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(sql, params, binary=binary)
                rows = await cur.fetchall() if cur.description is not None else []
            step = plan.send(rows)
    except StopIteration as stop:
        return stop.value
    except psycopg.Error as exc:
        raise map_error(exc) from exc


class _Aio:
    """Async twins of the wrappers: ``await host.aio.<name>(async_connection, …)``."""

    def __repr__(self) -> str:
        return f"<pgteams.host.aio: {', '.join(sorted(n for n in vars(self)))}>"


aio = _Aio()


def wrapper(plan_fn: Callable[..., Plan]) -> Callable[..., Any]:
    """Turn a plan into the sync wrapper (returned) and its async twin (``aio.<name>``)."""

    @functools.wraps(plan_fn)
    def sync(conn: psycopg.Connection, *args: Any, **kwargs: Any) -> Any:
        return run_sync(conn, plan_fn(*args, **kwargs))

    @functools.wraps(plan_fn)
    async def asynchronous(conn: psycopg.AsyncConnection, *args: Any, **kwargs: Any) -> Any:
        return await run_async(conn, plan_fn(*args, **kwargs))

    # help() and inspect show the wrapper's real call: the connection first.
    plan_sig = inspect.signature(plan_fn)
    conn_param = inspect.Parameter("conn", inspect.Parameter.POSITIONAL_ONLY)
    params = [conn_param, *plan_sig.parameters.values()]
    sync.__signature__ = plan_sig.replace(parameters=params, return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]
    asynchronous.__signature__ = sync.__signature__  # type: ignore[attr-defined]
    setattr(aio, plan_fn.__name__, asynchronous)
    return sync


def tenant_param(tenant: Tenant) -> str:
    """The tenant as the text of a uuid, or InvalidArgument (22023) before anything is sent."""
    if isinstance(tenant, uuid.UUID):
        return str(tenant)
    try:
        return str(uuid.UUID(str(tenant)))
    except ValueError:
        raise InvalidArgument("tenant is not a uuid", sqlstate="22023", field="tenant",
                              hint="Pass the tenant uuid the call is for.") from None


def json_param(value: JSON) -> Optional[Jsonb]:
    return None if value is None else Jsonb(value)
