"""Teams Workflows webhooks (Power Automate / Logic Apps "When a Teams webhook request is received").

``POST /workflows/{32hex}/triggers/manual/paths/invoke?…&sig=…`` answers 202. Microsoft documents
no error bodies here: the sandbox uses the Logic Apps ``{"error": {"code", "message"}}`` shape
(docs/sandbox.md says so).
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .limits import WEBHOOK_MAX_BYTES
from .plumbing import Ctx, Surface, catch_all, dumps, error_body, parse_json

__all__ = ["Workflows"]

CARD_TYPE = "application/vnd.microsoft.card.adaptive"

STATUS_ERRORS = {
    400: ("InvalidRequestContent", "The request content is not valid."),
    401: ("DirectApiAuthorizationRequired", "The request must be authenticated only by Shared Access scheme."),
    404: ("WorkflowNotFound", "The workflow could not be found."),
    413: ("RequestEntityTooLarge", "Request Entity Too Large"),
    429: ("WorkflowRequestsThrottled",
          "The workflow's request rate exceeded the limit. Retry after the time in the Retry-After header."),
    500: ("InternalServerError", "Internal server error."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The request timed out."),
}


def status_error(status: int) -> dict[str, Any]:
    return error_body(*STATUS_ERRORS.get(status, ("InternalServerError", f"HTTP {status}.")))


def card_problem(body: Any) -> Optional[str]:
    """None if the body is a message with Adaptive Card attachments, else what is wrong."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if body.get("type") != "message":
        return "The 'type' property must be 'message'."
    atts = body.get("attachments")
    if not isinstance(atts, list) or not atts:
        return "The 'attachments' property must be a non-empty list."
    for a in atts:
        if not isinstance(a, dict) or a.get("contentType") != CARD_TYPE:
            return f"Each attachment must have contentType '{CARD_TYPE}'."
        content = a.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            return "Each attachment's content must be an AdaptiveCard object."
    return None


class Workflows(Surface):
    kind = "webhook"
    prefix = "/workflows"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{workflow_id}/triggers/manual/paths/invoke", self.invoke, methods=["POST"]),
            catch_all(self.unserved),
        ]

    # --------------------------------------------------------------- dialect
    def answer(self, ctx: Ctx, status: int, obj: Any = None, extra: Optional[dict[str, str]] = None) -> Response:
        run_id = uuid.uuid4().hex.upper()
        headers = {"x-ms-workflow-run-id": run_id, "x-ms-correlation-id": str(uuid.uuid4())}
        if extra:
            headers.update(extra)
        code = obj["error"]["code"] if isinstance(obj, dict) and "error" in obj else None
        content = dumps(obj) if obj is not None else b""
        return self.finish(ctx, status, content, headers, error_code=code, response_id=run_id)

    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        return self.answer(ctx, status, status_error(status), extra)

    # --------------------------------------------------------------- endpoints
    async def invoke(self, request: Request) -> Response:
        S = self.state
        ctx = self.context(request)
        wid = request.path_params["workflow_id"].lower()
        ctx.destination = wid
        with S.lock:
            hook = S.webhooks.get(wid)
        if hook is not None:
            ctx.target_tenant = hook.tenant
        raw = await request.body()
        too_big = len(raw) > WEBHOOK_MAX_BYTES
        ctx.body = body = None if too_big else parse_json(raw)[1]
        faulted = await self.apply_fault(ctx)
        if faulted is not None:
            return faulted
        if hook is None:
            return self.answer(ctx, 404, error_body("WorkflowNotFound", f"The workflow '{wid}' could not be found."))
        sig = request.query_params.get("sig")
        if not sig:
            return self.answer(ctx, 401, error_body(
                "DirectApiAuthorizationRequired", "The request must be authenticated only by Shared Access scheme."))
        if not hmac.compare_digest(sig.encode(), hook.sig.encode()):
            return self.answer(ctx, 401, error_body(
                "DirectApiInvalidAuthorizationSignature",
                "The provided authorization signature is not valid for the request."))
        throttled = self.throttle(ctx, [(("webhook", wid), "webhook.per_url")])
        if throttled is not None:
            return throttled
        if too_big:
            return self.answer(ctx, 413, error_body("RequestEntityTooLarge", "Request Entity Too Large"))
        problem = card_problem(body)
        if problem is not None:
            return self.answer(ctx, 400, error_body("InvalidRequestContent", problem))
        return self.answer(ctx, 202)

    async def unserved(self, request: Request) -> Response:
        return self.status_answer(self.context(request), 404)
