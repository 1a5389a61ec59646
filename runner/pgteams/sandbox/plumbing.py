"""What every surface of the sandbox shares: the request context, recording, tokens, faults, limits.

A surface is one of Microsoft's services as the sandbox serves it (login, Graph, Bot Framework
connector, Workflows): a :class:`Surface` subclass in a module of its own that lists its routes
(``routes()``, relative to ``prefix``, where ``app.py`` mounts them) and speaks its dialect
(``status_answer``: what Microsoft sends with a bare status there, for faults and limits). Every
answer goes out through :meth:`Surface.finish`, which records the request.

Handlers are O(1): a few dict look-ups under one lock, a deque per rate-limit window, one JSON
parse. Nothing touches the disk per request.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any, Awaitable, Callable, Hashable, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import DEFAULT_DELAY, DEFAULT_STATUS, Fault
from .limits import MICROSOFT_LIMITS, format_retry_after
from .state import State, Token
from .tls import Materials

__all__ = [
    "JSON", "Ctx", "Runtime", "Surface", "catch_all", "cross_tenant_refusal", "dumps", "error_body", "parse_json",
]

JSON = "application/json; charset=utf-8"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def parse_json(raw: bytes) -> tuple[bool, Any]:
    """(True, value) for a JSON body, else (False, None)."""
    if not raw:
        return False, None
    try:
        return True, json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False, None


def error_body(code: str, message: str) -> dict[str, Any]:
    """``{"error": {"code", "message"}}``: the Bot Framework connector's and Workflows' error shape."""
    return {"error": {"code": code, "message": message}}


def catch_all(endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """The last route of a surface: whatever it does not serve, with any method, goes to ``endpoint``
    (a route without ``methods`` would take GET only)."""
    return Route("/{rest:path}", endpoint, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])


def _fmt_seconds(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


class Runtime:
    """Per-serve event-loop objects (recreated by every Sandbox.start())."""

    def __init__(self) -> None:
        self.stop_event: Optional[asyncio.Event] = None


class Ctx:
    """One request to a Microsoft surface, as it will be recorded."""

    __slots__ = (
        "kind", "method", "path", "t0", "wall", "client_request_id", "token", "token_problem",
        "token_tenant", "token_client", "token_audience", "target_tenant", "cross_tenant",
        "destination", "body", "fault",
    )

    def __init__(self, kind: str, request: Request):
        self.kind = kind
        self.method = request.method
        self.path = request.scope["path"]  # no query string, ever
        self.t0 = time.monotonic()
        self.wall = time.time()
        self.client_request_id = request.headers.get("client-request-id")
        self.token: Optional[Token] = None
        self.token_problem: Optional[str] = None
        self.token_tenant: Optional[str] = None
        self.token_client: Optional[str] = None
        self.token_audience: Optional[str] = None
        self.target_tenant: Optional[str] = None
        self.cross_tenant = False
        self.destination: Optional[str] = None
        self.body: Any = None
        self.fault: Optional[str] = None


def cross_tenant_refusal(ctx: Ctx) -> str:
    return (
        f"Sandbox refused a cross-tenant request: the token belongs to tenant '{ctx.token_tenant}' "
        f"but '{ctx.destination}' belongs to tenant '{ctx.target_tenant}'."
    )


class Surface:
    """One Microsoft surface: its routes, its dialect, and the shared request machinery."""

    #: what its requests are recorded as, and the ``Fault.endpoint`` that reaches them
    kind: str = ""
    #: the path under which app.py mounts ``routes()`` ("" = the root)
    prefix: str = ""
    #: Retry-After of its 429s: milliseconds (Graph) or whole seconds
    fractional_retry_after = False

    def __init__(self, state: State, runtime: Runtime, materials: Materials):
        self.state = state
        self.runtime = runtime
        self.materials = materials

    @property
    def url(self) -> str:
        """The surface's root URL (the sandbox's URL + ``prefix``)."""
        return self.state.base_url + self.prefix

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    # --------------------------------------------------------------- dialect
    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        """The surface's answer with just a status (faults, limits)."""
        raise NotImplementedError

    def fault_answer(self, ctx: Ctx, fault: Fault) -> Response:
        """The answer of a fault kind only this surface knows (``faults.FAULT_KINDS``)."""
        raise AssertionError(fault.kind)

    # --------------------------------------------------------------- plumbing
    def context(self, request: Request, kind: Optional[str] = None) -> Ctx:
        return Ctx(kind or self.kind, request)

    def finish(
        self,
        ctx: Ctx,
        status: int,
        content: bytes = b"",
        headers: Optional[dict[str, str]] = None,
        *,
        error_code: Optional[str] = None,
        response_id: Optional[str] = None,
        media_type: Optional[str] = JSON,
    ) -> Response:
        """Record the request and build its answer."""
        headers = headers or {}
        self.state.record(
            monotonic=ctx.t0,
            wall_time=ctx.wall,
            kind=ctx.kind,
            method=ctx.method,
            path=ctx.path,
            status=status,
            token_tenant=ctx.token_tenant,
            token_client=ctx.token_client,
            token_audience=ctx.token_audience,
            target_tenant=ctx.target_tenant,
            cross_tenant=ctx.cross_tenant,
            destination=ctx.destination,
            body=ctx.body,
            client_request_id=ctx.client_request_id,
            fault=ctx.fault,
            error_code=error_code,
            retry_after=headers.get("Retry-After"),
            response_id=response_id,
        )
        if not content:
            media_type = None
        return Response(content, status_code=status, headers=headers, media_type=media_type)

    def resolve_token(self, ctx: Ctx, request: Request) -> None:
        """Fill the ctx's token fields from the bearer token, or say what is wrong with it."""
        auth = request.headers.get("authorization")
        if not auth:
            ctx.token_problem = "missing"
            return
        scheme, _, tok = auth.partition(" ")
        tok = tok.strip()
        if scheme.lower() != "bearer" or not tok:
            ctx.token_problem = "malformed"
            return
        with self.state.lock:
            info = self.state.tokens.get(tok)
        if info is None:
            ctx.token_problem = "unknown"
            return
        ctx.token = info
        ctx.token_tenant, ctx.token_client, ctx.token_audience = info.tenant, info.client_id, info.audience
        if info.expires_at <= time.monotonic():
            ctx.token_problem = "expired"

    async def hold(self, seconds: float) -> None:
        """Wait without blocking other requests; stop() ends the wait at once."""
        ev = self.runtime.stop_event
        if ev is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(ev.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def apply_fault(self, ctx: Ctx) -> Optional[Response]:
        """Answer from an injected fault, or return None to answer normally."""
        S = self.state
        now = time.monotonic()
        with S.lock:
            m = S.faults.match(self.kind, (ctx.token_tenant, ctx.target_tenant), ctx.destination, now)
        if m is None:
            return None
        fid, f, left = m
        ctx.fault = fid
        S.notify()  # lets wait_for() see the fault's hit count change
        kind = f.kind
        if kind == "slow":
            await self.hold(DEFAULT_DELAY["slow"] if f.delay is None else float(f.delay))
            return None
        if kind == "timeout":
            await self.hold(DEFAULT_DELAY["timeout"] if f.delay is None else float(f.delay))
            return self.status_answer(ctx, f.status or DEFAULT_STATUS["timeout"])
        if kind == "throttle":
            if f.retry_after is not None:
                ra = _fmt_seconds(f.retry_after)
            else:
                ra = str(max(1, math.ceil(left))) if left is not None else "1"
            return self.status_answer(ctx, f.status or 429, {"Retry-After": ra})
        if kind in ("server_error", "token_error"):
            extra = {"Retry-After": _fmt_seconds(f.retry_after)} if f.retry_after is not None else None
            return self.status_answer(ctx, f.status or DEFAULT_STATUS[kind], extra)
        return self.fault_answer(ctx, f)

    def throttle(self, ctx: Ctx, checks: list[tuple[Hashable, str]]) -> Optional[Response]:
        """Count the request against each (key, ``MICROSOFT_LIMITS`` name); a 429 when one is full."""
        S = self.state
        if not S.enforce_limits:
            return None
        windows = [(key, MICROSOFT_LIMITS[name].windows) for key, name in checks]
        with S.lock:
            wait = S.limiter.acquire(windows, time.monotonic())
        if wait <= 0:
            return None
        retry_after = format_retry_after(wait, fractional=self.fractional_retry_after)
        return self.status_answer(ctx, 429, {"Retry-After": retry_after})
