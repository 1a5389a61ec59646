"""Requests that no surface serves: answered in JSON and recorded like any other (kind ``unserved``).

Under a surface's prefix the surface answers what it does not serve in its own dialect (Graph 400
``BadRequest``, the connector 404 ``NotFound``, Workflows 404 ``WorkflowNotFound``). This answers the
rest, through Starlette's own 404 and 405: a path no surface has (404 ``NotFound``), or a served path
with another method (405 ``MethodNotAllowed``, with ``Allow``), in the ``{"error": {"code",
"message"}}`` shape the Graph, connector and Workflows errors share.
"""

from __future__ import annotations

from typing import Optional

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .plumbing import Ctx, Surface, dumps, error_body

__all__ = ["Unserved"]


class Unserved(Surface):
    kind = "unserved"

    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        code = "MethodNotAllowed" if status == 405 else "NotFound"
        message = f"The sandbox does not serve {ctx.method} {ctx.path}."
        return self.finish(ctx, status, dumps(error_body(code, message)), extra, error_code=code)

    async def answer(self, request: Request, exc: Exception) -> Response:
        """Starlette's exception handler for the 404 and 405 of its routing."""
        assert isinstance(exc, HTTPException)
        ctx = self.context(request)
        self.resolve_token(ctx, request)
        allow = (exc.headers or {}).get("Allow")
        extra = {"Allow": ", ".join(sorted(m.strip() for m in allow.split(",")))} if allow else None
        return self.status_answer(ctx, exc.status_code, extra)
