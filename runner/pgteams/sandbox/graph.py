"""Microsoft Graph: the Teams activity feed (``sendActivityNotification``), under ``{url}/graph/v1.0``.

Answers carry Graph's ``request-id`` / ``client-request-id`` / ``x-ms-ags-diagnostic`` headers and its
OData error shape (TEAMS_FACTS §1, §6).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import Fault
from .limits import GRAPH_BULK_MAX_RECIPIENTS, GRAPH_BULK_MIN_TOKEN_LIFETIME_S
from .plumbing import Ctx, Surface, catch_all, cross_tenant_refusal, dumps, parse_json
from .state import GRAPH, Target

__all__ = ["Graph"]

AGS_DIAGNOSTIC = json.dumps(
    {"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "0", "ScaleUnit": "000",
                    "RoleInstance": "pgteams-sandbox"}},
    separators=(",", ":"),
)

# --- error bodies ----------------------------------------------------------------


def graph_date() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def odata_error(code: str, message: str, request_id: str, client_request_id: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": graph_date(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def throttled_body(request_id: str, client_request_id: str) -> dict[str, Any]:
    # MGD concepts/throttling.md sample body
    return {
        "error": {
            "code": "TooManyRequests",
            "innerError": {
                "code": "429",
                "date": graph_date(),
                "message": "Please retry after",
                "request-id": request_id,
                "client-request-id": client_request_id,
                "status": "429",
            },
            "message": "Please retry again later.",
        }
    }


STATUS_ERRORS = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Forbidden", "Forbidden."),
    404: ("itemNotFound", "Not found."),
    409: ("Conflict", "Found multiple applications with the same Microsoft Entra App ID."),
    412: ("PreconditionFailed", "Precondition failed."),
    500: ("generalException", "An unspecified error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response."),
}


def not_installed_message(client_id: str, topic: str) -> str:
    return (
        f"Application with AAD App Id '{client_id}' is not authorized to generate custom "
        f"text notifications about '{topic}' to the recipient. Ensure that the expected "
        "Teams app is installed in the target scope (user, team, or chat)."
    )


TOKEN_PROBLEMS = {
    "missing": "Access token is empty.",
    "malformed": "Access token validation failure. The authorization header is malformed.",
    "unknown": "Access token validation failure. Invalid or revoked token.",
    "expired": "Lifetime validation failed, the token is expired.",
}


def activity_problem(body: Any, needs_recipient: bool) -> Optional[tuple[str, str]]:
    """None if the body is a valid activity notification, else (code, message), like Graph's 400s."""
    if not isinstance(body, dict):
        return "BadRequest", "Empty Payload. JSON content expected."
    topic = body.get("topic")
    if not isinstance(topic, dict):
        return "BadRequest", "Invalid request: 'topic' is required and must be an object."
    source = topic.get("source")
    if not isinstance(source, str) or source.lower() not in ("entityurl", "text"):
        return "BadRequest", f"Invalid topic source '{source}'. Supported values: entityUrl, text."
    if not isinstance(topic.get("value"), str) or not topic["value"]:
        return "BadRequest", "Invalid request: 'topic.value' is required."
    if source.lower() == "text":
        web_url = topic.get("webUrl")
        if not isinstance(web_url, str) or not web_url:
            return "BadRequest", "Invalid request: 'topic.webUrl' is required when topic source is 'text'."
        if len(web_url) > 1024:  # reported, undocumented (TEAMS_FACTS §1)
            return "UnknownError", "An error has occurred."
    if not isinstance(body.get("activityType"), str) or not body["activityType"]:
        return "BadRequest", "Invalid request: 'activityType' is required and must be a string."
    preview = body.get("previewText")
    if not isinstance(preview, dict) or not isinstance(preview.get("content"), str):
        return "BadRequest", "Invalid request: 'previewText' is required and must be an itemBody with 'content'."
    params = body.get("templateParameters")
    if params is not None:
        if not isinstance(params, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("value"), str)
            for p in params
        ):
            return "BadRequest", "Invalid request: 'templateParameters' must be a list of {name, value} strings."
    chain = body.get("chainId")
    if chain is not None and (isinstance(chain, bool) or not isinstance(chain, int)):
        return "BadRequest", "Invalid request: 'chainId' must be an Int64."
    if needs_recipient:
        rec = body.get("recipient")
        if not isinstance(rec, dict) or not str(rec.get("@odata.type", "")).endswith("NotificationRecipient"):
            return "BadRequest", "Invalid request: 'recipient' is required and must carry an '@odata.type'."
    return None


class Graph(Surface):
    kind = "graph"
    prefix = "/graph"
    fractional_retry_after = True
    version = "/v1.0"
    scope = "https://graph.microsoft.com/.default"

    @property
    def base(self) -> str:
        """``graph_base`` of the runner's settings."""
        return self.url + self.version

    def routes(self) -> list[BaseRoute]:
        v = self.version
        return [
            Route(v + "/users/{user_id}/teamwork/sendActivityNotification", self.send_to_user, methods=["POST"]),
            Route(v + "/chats/{chat_id}/sendActivityNotification", self.send_to_chat, methods=["POST"]),
            Route(v + "/teams/{team_id}/sendActivityNotification", self.send_to_team, methods=["POST"]),
            Route(v + "/teamwork/sendActivityNotificationToRecipients", self.send_to_recipients, methods=["POST"]),
            catch_all(self.unserved),
        ]

    # --------------------------------------------------------------- dialect
    def answer(self, ctx: Ctx, status: int, body_fn: Optional[Callable[[str, str], dict[str, Any]]] = None,
               extra: Optional[dict[str, str]] = None) -> Response:
        """Graph's answer; ``body_fn(request_id, client_request_id)`` builds the body."""
        rid = str(uuid.uuid4())
        crid = ctx.client_request_id or rid
        headers = {"request-id": rid, "client-request-id": crid, "x-ms-ags-diagnostic": AGS_DIAGNOSTIC}
        if extra:
            headers.update(extra)
        content = b""
        error_code = None
        if body_fn is not None:
            obj = body_fn(rid, crid)
            content = dumps(obj)
            error_code = obj.get("error", {}).get("code")
        return self.finish(ctx, status, content, headers, error_code=error_code, response_id=rid)

    def error(self, ctx: Ctx, status: int, code: str, message: str, extra: Optional[dict[str, str]] = None) -> Response:
        return self.answer(ctx, status, lambda rid, crid: odata_error(code, message, rid, crid), extra)

    def status_answer(self, ctx: Ctx, status: int, extra: Optional[dict[str, str]] = None) -> Response:
        if status == 429:
            return self.answer(ctx, status, throttled_body, extra)
        code, message = STATUS_ERRORS.get(status, ("UnknownError", f"HTTP {status}."))
        return self.error(ctx, status, code, message, extra)

    def fault_answer(self, ctx: Ctx, fault: Fault) -> Response:
        if fault.kind == "app_not_installed":
            message = not_installed_message(ctx.token_client or "", ctx.destination or "")
            return self.error(ctx, fault.status or 403, "Forbidden", message)
        return super().fault_answer(ctx, fault)

    # --------------------------------------------------------------- shared checks
    async def receive(self, ctx: Ctx, request: Request, bulk: bool) -> tuple[bool, Optional[Response]]:
        """Token, body, fault, permission and rate limit: (whether the body is JSON, a refusal or None)."""
        self.resolve_token(ctx, request)
        ok, ctx.body = parse_json(await request.body())
        refused = await self.apply_fault(ctx)
        if refused is None:
            refused = self.authorize(ctx)
        if refused is None:
            prefix = "graph.activity_feed_bulk" if bulk else "graph.activity_feed"
            refused = self.throttle(ctx, [
                ((prefix, ctx.token_client, ctx.token_tenant), prefix + ".per_app_per_tenant"),
                ((prefix, ctx.token_client), prefix + ".per_app"),
            ])
        return ok, refused

    def authorize(self, ctx: Ctx) -> Optional[Response]:
        if ctx.token_problem:
            return self.error(ctx, 401, "InvalidAuthenticationToken", TOKEN_PROBLEMS[ctx.token_problem])
        if ctx.token_audience != GRAPH:
            return self.error(ctx, 401, "InvalidAuthenticationToken",
                              "Access token validation failure. Invalid audience.")
        with self.state.lock:
            client = self.state.clients.get((ctx.token_tenant, ctx.token_client))
        if client is None or not client.graph:
            return self.error(
                ctx, 403, "Forbidden",
                "Missing role permissions on the request. API requires one of 'TeamsActivity.Send'. "
                "Roles on the request ''.",
            )
        return None

    # --------------------------------------------------------------- endpoints
    async def send_to_user(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        with self.state.lock:
            target = self.state.users.get(user_id.lower())
        return await self.send(request, user_id, target, needs_recipient=False)

    async def send_to_chat(self, request: Request) -> Response:
        chat_id = request.path_params["chat_id"]
        with self.state.lock:
            target = self.state.chats.get(chat_id)
        return await self.send(request, chat_id, target, needs_recipient=True)

    async def send_to_team(self, request: Request) -> Response:
        team_id = request.path_params["team_id"]
        with self.state.lock:
            target = self.state.teams.get(team_id.lower())
        return await self.send(request, team_id, target, needs_recipient=True)

    async def send(self, request: Request, target_id: str, target: Optional[Target], needs_recipient: bool) -> Response:
        S = self.state
        ctx = self.context(request)
        ctx.destination = target_id
        if target is not None:
            ctx.target_tenant = target.tenant
        ok, refused = await self.receive(ctx, request, bulk=False)
        if refused is not None:
            return refused
        if not ok:
            return self.error(ctx, 400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                              "Content-Type header is set and payload is of valid JSON format.")
        problem = activity_problem(ctx.body, needs_recipient)
        if problem is not None:
            return self.error(ctx, 400, problem[0], problem[1])
        if target is None:
            return self.error(
                ctx, 404, "itemNotFound",
                f"Resource '{target_id}' does not exist or one of its queried reference-property objects are not present.",
            )
        if target.tenant != ctx.token_tenant:
            ctx.cross_tenant = True
            return self.error(ctx, 403, "Forbidden", cross_tenant_refusal(ctx))
        if needs_recipient:
            uid = (ctx.body.get("recipient") or {}).get("userId")
            if isinstance(uid, str):
                with S.lock:
                    u = S.users.get(uid.lower())
                if u is not None and u.tenant != ctx.token_tenant:
                    ctx.cross_tenant = True
                    ctx.target_tenant = u.tenant
                    return self.error(ctx, 403, "Forbidden", cross_tenant_refusal(ctx))
        if not target.app_installed:
            message = not_installed_message(ctx.token_client or "", ctx.body["topic"].get("value", ""))
            return self.error(ctx, 403, "Forbidden", message)
        return self.answer(ctx, 204)

    async def send_to_recipients(self, request: Request) -> Response:
        ctx = self.context(request)
        ok, refused = await self.receive(ctx, request, bulk=True)
        if refused is not None:
            return refused
        if not ok:
            return self.error(ctx, 400, "BadRequest", "Unable to read JSON request payload.")
        problem = activity_problem(ctx.body, needs_recipient=False)
        if problem is not None:
            return self.error(ctx, 400, problem[0], problem[1])
        recipients = ctx.body.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            return self.error(ctx, 400, "BadRequest", "Invalid request: 'recipients' is required.")
        if len(recipients) > GRAPH_BULK_MAX_RECIPIENTS:
            return self.error(ctx, 400, "BadRequest",
                              f"Recipients count exceeds the maximum of {GRAPH_BULK_MAX_RECIPIENTS}.")
        for r in recipients:
            if not isinstance(r, dict) or not str(r.get("@odata.type", "")).endswith("aadUserNotificationRecipient") \
                    or not isinstance(r.get("userId"), str):
                return self.error(ctx, 400, "BadRequest",
                                  "Only aadUserNotificationRecipient recipients with a userId are supported.")
        assert ctx.token is not None
        if ctx.token.expires_at - time.monotonic() < GRAPH_BULK_MIN_TOKEN_LIFETIME_S:
            return self.error(ctx, 412, "PreconditionFailed",
                              "The access token must be valid for at least 45 minutes for this request.")
        with self.state.lock:
            owners = [self.state.users.get(r["userId"].lower()) for r in recipients]
        foreign = next((u for u in owners if u is not None and u.tenant != ctx.token_tenant), None)
        if foreign is not None:
            ctx.cross_tenant = True
            ctx.target_tenant = foreign.tenant
            ctx.destination = foreign.id
            return self.error(ctx, 403, "Forbidden", cross_tenant_refusal(ctx))
        ctx.target_tenant = ctx.token_tenant
        return self.answer(ctx, 202, extra={"Location": f"{self.base}/teamwork"})

    async def unserved(self, request: Request) -> Response:
        ctx = self.context(request)
        self.resolve_token(ctx, request)
        seg = ctx.path.rstrip("/").rsplit("/", 1)[-1]
        return self.error(ctx, 400, "BadRequest", f"Resource not found for the segment '{seg}'.")
