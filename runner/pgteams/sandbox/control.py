"""The control interface under ``/_sandbox/``: the Python API over HTTP (docs/sandbox.md).

For host teams that drive the sandbox from another process or language. Bodies are JSON with the
Python keyword names; a bad argument answers 400 ``{"error": "..."}``, an unknown conversation,
webhook or fault 404. Control requests are not recorded.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import Fault
from .limits import MICROSOFT_LIMITS
from .plumbing import JSON, catch_all, dumps
from .state import State
from .tls import Materials

__all__ = ["Control"]

Handler = Callable[[Request], Awaitable[Response]]


def answer(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status_code=status, media_type=JSON)


async def arguments(request: Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is no arguments)."""
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def adding(add: Callable[..., Any]) -> Handler:
    """A POST that calls ``add(**arguments)`` and answers 201 ``{"ok": true}``."""
    async def endpoint(request: Request) -> Response:
        add(**await arguments(request))
        return answer({"ok": True}, 201)
    return endpoint


def guarded(fn: Handler) -> Handler:
    """KeyError -> 404, ValueError/TypeError -> 400, each as ``{"error": "..."}``."""
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except KeyError as exc:
            return answer({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
        except (ValueError, TypeError) as exc:
            return answer({"error": str(exc)}, 400)
    return endpoint


class Control:
    prefix = "/_sandbox"

    def __init__(self, state: State, materials: Materials, settings: Callable[[], dict[str, str]]):
        self.state = state
        self.materials = materials
        self.settings = settings  # what the runner must point at (Sandbox.settings())

    def routes(self) -> list[BaseRoute]:
        S = self.state
        table: list[tuple[str, Handler, list[str]]] = [
            ("/", self.info, ["GET"]),
            ("/settings", self.get_settings, ["GET"]),
            ("/ca.pem", self.ca, ["GET"]),
            ("/tenants", adding(S.add_tenant), ["POST"]),
            ("/users", adding(S.add_user), ["POST"]),
            ("/chats", adding(S.add_chat), ["POST"]),
            ("/teams", adding(S.add_team), ["POST"]),
            ("/conversations", self.add_conversation, ["POST"]),
            ("/conversations/{conversation_id}", self.remove_conversation, ["DELETE"]),
            ("/conversations/{conversation_id}/bots", self.add_bot, ["POST"]),
            ("/conversations/{conversation_id}/bots/{bot_app_id}", self.remove_bot, ["DELETE"]),
            ("/conversations/{conversation_id}/block", self.block, ["POST"]),
            ("/webhooks", self.webhooks, ["GET", "POST"]),
            ("/webhooks/{webhook_id}", self.remove_webhook, ["DELETE"]),
            ("/faults", self.faults, ["GET", "POST", "DELETE"]),
            ("/faults/{fault_id}", self.remove_fault, ["DELETE"]),
            ("/requests", self.requests, ["GET", "DELETE"]),
            ("/limits", self.limits, ["GET", "POST"]),
            ("/tokens/revoke", self.revoke_tokens, ["POST"]),
            ("/reset", self.reset, ["POST"]),
            ("/config", self.load_config, ["POST"]),
        ]
        return [Route(path, guarded(fn), methods=methods) for path, fn, methods in table] + [
            catch_all(self.unserved),
        ]

    async def unserved(self, request: Request) -> Response:
        return answer({"error": f"the control interface does not serve {request.method} {request.scope['path']}"}, 404)

    # --------------------------------------------------------------- about
    async def info(self, request: Request) -> Response:
        S = self.state
        with S.lock:
            counts = {
                "tenants": len(S.tenants), "users": len(S.users), "chats": len(S.chats), "teams": len(S.teams),
                "conversations": len(S.conversations), "webhooks": len(S.webhooks),
            }
        return answer({"url": S.base_url, "ca_file": str(self.materials.ca_file), "settings": self.settings(),
                       "enforce_limits": S.enforce_limits, "token_lifetime": S.token_lifetime, "counts": counts})

    async def get_settings(self, request: Request) -> Response:
        return answer(self.settings())

    async def ca(self, request: Request) -> Response:
        return Response(self.materials.ca_file.read_bytes(), media_type="application/x-pem-file")

    # --------------------------------------------------------------- the world
    async def add_conversation(self, request: Request) -> Response:
        return answer({"service_url": self.state.add_conversation(**await arguments(request))}, 201)

    async def remove_conversation(self, request: Request) -> Response:
        self.state.remove_conversation(request.path_params["conversation_id"])
        return answer({"ok": True})

    async def add_bot(self, request: Request) -> Response:
        data = await arguments(request)
        self.state.add_bot(request.path_params["conversation_id"], data["bot_app_id"])
        return answer({"ok": True})

    async def remove_bot(self, request: Request) -> Response:
        self.state.remove_bot(request.path_params["conversation_id"], request.path_params["bot_app_id"])
        return answer({"ok": True})

    async def block(self, request: Request) -> Response:
        data = await arguments(request)
        self.state.block_conversation(request.path_params["conversation_id"], bool(data.get("blocked", True)))
        return answer({"ok": True})

    async def webhooks(self, request: Request) -> Response:
        if request.method == "GET":
            return answer({"webhooks": self.state.list_webhooks()})
        url = self.state.add_webhook(**await arguments(request))
        return answer({"url": url}, 201)

    async def remove_webhook(self, request: Request) -> Response:
        self.state.remove_webhook(request.path_params["webhook_id"])
        return answer({"ok": True})

    async def load_config(self, request: Request) -> Response:
        return answer(self.state.load_config(await arguments(request)), 201)

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return answer({"ok": True})

    # --------------------------------------------------------------- faults, limits, tokens
    async def faults(self, request: Request) -> Response:
        if request.method == "GET":
            return answer({"faults": self.state.list_faults()})
        if request.method == "DELETE":
            self.state.clear_faults()
            return answer({"ok": True})
        return answer({"fault_id": self.state.add_fault(Fault(**await arguments(request)))}, 201)

    async def remove_fault(self, request: Request) -> Response:
        if not self.state.remove_fault(request.path_params["fault_id"]):
            raise KeyError(f"unknown fault {request.path_params['fault_id']!r}")
        return answer({"ok": True})

    async def limits(self, request: Request) -> Response:
        S = self.state
        data = await arguments(request) if request.method == "POST" else {}
        if "enforce" in data:
            S.enforce_limits = bool(data["enforce"])
        if data.get("reset"):
            S.reset_limits()
        return answer({
            "enforce_limits": S.enforce_limits,
            "limits": {
                name: {"windows": [list(w) for w in lim.windows], "per": lim.per, "applies_to": lim.applies_to,
                       "source": lim.source, "enforced": lim.enforced, "note": lim.note}
                for name, lim in MICROSOFT_LIMITS.items()
            },
        })

    async def revoke_tokens(self, request: Request) -> Response:
        data = await arguments(request)
        return answer({"revoked": self.state.revoke_tokens(data.get("tenant"), data.get("client_id"))})

    # --------------------------------------------------------------- records
    async def requests(self, request: Request) -> Response:
        S = self.state
        if request.method == "DELETE":
            S.reset_records()
            return answer({"ok": True})
        q = request.query_params
        since = int(q.get("since", "0"))
        kind = q.get("kind")
        recs = [r for r in S.snapshot() if r.seq > since and (kind is None or r.kind == kind)]
        if "limit" in q:
            recs = recs[: int(q["limit"])]
        last = recs[-1].seq if recs else since
        return answer({"requests": [r.to_dict() for r in recs], "last_seq": last})
