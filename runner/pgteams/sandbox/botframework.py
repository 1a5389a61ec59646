"""The Bot Framework connector: proactive messages to a conversation, under a service URL
``{url}/bot/{region}/`` (like ``https://smba.trafficmanager.net/amer/``).

Answers carry ``X-Correlating-OperationId`` and the connector's ``{"error": {"code", "message"}}``
shape; a conversation blocked by its user answers Teams' ``errorCode`` 209 (TEAMS_FACTS §2).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import Fault
from .limits import BOT_MESSAGE_MAX_BYTES
from .plumbing import Ctx, Surface, catch_all, cross_tenant_refusal, dumps, error_body, parse_json
from .state import BOTFRAMEWORK, BOTFRAMEWORK_TENANT, Conversation

__all__ = ["BotFramework"]

STATUS_ERRORS = {
    400: ("BadArgument", "Bad argument."),
    401: ("Unauthorized", "Authorization has been denied for this request."),
    403: ("Forbidden", "Forbidden."),
    404: ("ConversationNotFound", "Conversation not found."),
    412: ("PreconditionFailed", "Precondition failed: concurrent operations on the conversation."),
    413: ("MessageSizeTooBig", "Message size too big."),
    429: ("Throttled", "Too many requests. Retry after the time in the Retry-After header."),
    500: ("ServiceError", "Internal service error."),
    502: ("ServiceError", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}


def blocked_body() -> dict[str, Any]:
    # MTD send-proactive-messages.md: 403 ConversationBlockedByUser
    return {
        "errorCode": 209,
        "message": json.dumps(
            {
                "subCode": "MessageWritesBlocked",
                "details": "Thread is blocked from message writes.",
                "errorCode": None,
                "errorSubCode": None,
            }
        ),
    }


class BotFramework(Surface):
    kind = "bot"
    prefix = "/bot"
    scope = "https://api.botframework.com/.default"

    def routes(self) -> list[BaseRoute]:
        activities = "/{region}/v3/conversations/{conversation_id}/activities"
        return [
            Route(activities, self.send, methods=["POST"]),
            Route(activities + "/{activity_id}", self.send, methods=["POST"]),  # a reply
            catch_all(self.unserved),
        ]

    # --------------------------------------------------------------- dialect
    def answer(self, ctx: Ctx, status: int, obj: Any = None, extra: Optional[dict[str, str]] = None,
               response_id: Optional[str] = None) -> Response:
        headers = {"X-Correlating-OperationId": uuid.uuid4().hex}
        if extra:
            headers.update(extra)
        code = None
        if isinstance(obj, dict):
            err = obj.get("error")
            code = err.get("code") if isinstance(err, dict) else None
            if code is None and obj.get("errorCode") == 209:
                code = "ConversationBlockedByUser"
        content = dumps(obj) if obj is not None else b""
        return self.finish(ctx, status, content, headers, error_code=code, response_id=response_id)

    def error(self, ctx: Ctx, status: int, code: str, message: str) -> Response:
        return self.answer(ctx, status, error_body(code, message))

    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        code, message = STATUS_ERRORS.get(status, ("ServiceError", f"HTTP {status}."))
        return self.answer(ctx, status, error_body(code, message), extra)

    def fault_answer(self, ctx: Ctx, fault: Fault) -> Response:
        if fault.kind == "conversation_blocked":
            return self.answer(ctx, fault.status or 403, blocked_body())
        return super().fault_answer(ctx, fault)

    # --------------------------------------------------------------- shared checks
    def open(self, request: Request) -> tuple[Ctx, Optional[Conversation]]:
        """The request's context and the conversation it addresses (None if unknown)."""
        ctx = self.context(request)
        cid = request.path_params["conversation_id"]
        ctx.destination = cid
        with self.state.lock:
            conv = self.state.conversations.get(cid)
        if conv is not None:
            ctx.target_tenant = conv.tenant
        self.resolve_token(ctx, request)
        return ctx, conv

    def authorize(self, ctx: Ctx, conv: Optional[Conversation]) -> Optional[Response]:
        """Token, bot registration, conversation and tenant: a 401, 404 or 403, or None."""
        S = self.state
        if ctx.token_problem or ctx.token_audience != BOTFRAMEWORK:
            return self.error(ctx, 401, "Unauthorized", "Authorization has been denied for this request.")
        with S.lock:
            if ctx.token_tenant == BOTFRAMEWORK_TENANT:
                registered = any(c.bot and c.client_id == ctx.token_client for c in S.clients.values())
            else:
                c = S.clients.get((ctx.token_tenant, ctx.token_client))
                registered = c is not None and c.bot
        if not registered:
            return self.error(ctx, 401, "BotNotRegistered", "The bot is not registered with the channel.")
        if conv is None:
            return self.error(ctx, 404, "ConversationNotFound", "Conversation not found.")
        if ctx.token_tenant != BOTFRAMEWORK_TENANT and ctx.token_tenant != conv.tenant:
            ctx.cross_tenant = True
            return self.error(ctx, 403, "Forbidden", cross_tenant_refusal(ctx))
        return None

    def writable(self, ctx: Ctx, conv: Conversation) -> Optional[Response]:
        """The bot is in the conversation's roster and its user has not blocked it: a 403, or None."""
        with self.state.lock:
            in_roster = ctx.token_client in conv.bot_app_ids
            blocked = conv.blocked
        if not in_roster:
            return self.error(ctx, 403, "BotNotInConversationRoster", "The bot is not part of the conversation roster.")
        if blocked:
            return self.answer(ctx, 403, blocked_body())
        return None

    # --------------------------------------------------------------- endpoints
    async def send(self, request: Request) -> Response:
        ctx, conv = self.open(request)
        raw = await request.body()
        too_big = len(raw) > BOT_MESSAGE_MAX_BYTES
        ok, ctx.body = (False, None) if too_big else parse_json(raw)
        refused = await self.apply_fault(ctx)
        if refused is None:
            refused = self.authorize(ctx, conv)
        if refused is None:
            assert conv is not None
            app, cid = ctx.token_client, conv.id
            refused = self.throttle(ctx, [
                (("bot.conv", app, cid), "bot.send.per_bot_per_conversation"),
                (("bot.conv_all", cid), "bot.send.all_bots_per_conversation"),
                (("bot.tenant", app, conv.tenant), "bot.per_app_per_tenant"),
            ])
            if refused is None:
                refused = self.writable(ctx, conv)
        if refused is not None:
            return refused
        if too_big:
            return self.error(ctx, 413, "MessageSizeTooBig", "Message size too big.")
        body = ctx.body
        if not ok or not isinstance(body, dict):
            return self.error(ctx, 400, "BadArgument", "The request body must be an Activity (JSON object).")
        if not isinstance(body.get("type"), str) or not body["type"]:
            return self.error(ctx, 400, "BadArgument", "Activity type is required.")
        activity_id = self.state.next_activity_id()
        return self.answer(ctx, 201, {"id": activity_id}, response_id=activity_id)

    async def unserved(self, request: Request) -> Response:
        ctx = self.context(request)
        self.resolve_token(ctx, request)
        return self.error(ctx, 404, "NotFound", "The sandbox does not serve this Bot Framework operation.")
