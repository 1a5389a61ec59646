"""The sandbox's ASGI application (Starlette): Microsoft's endpoints + control.

Handlers are O(1): a few dict look-ups under one lock, a deque per rate-limit
window, one JSON parse. Nothing touches the disk per request.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .botframework import BotFramework
from .faults import Fault
from .graph import Graph
from .limits import MICROSOFT_LIMITS
from .login import Login
from .plumbing import JSON, Runtime, dumps
from .state import State
from .workflows import Workflows

__all__ = ["build_app"]


def build_app(state: State, runtime: Runtime, materials: Any) -> Starlette:
    S = state
    login = Login(state, runtime, materials)
    graph = Graph(state, runtime, materials)
    bot = BotFramework(state, runtime, materials)
    workflows = Workflows(state, runtime, materials)

    # ============================================================ control
    def cjson(obj: Any, status: int = 200) -> Response:
        return Response(dumps(obj), status_code=status, media_type=JSON)

    async def cbody(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def control(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except KeyError as exc:
                return cjson({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
            except (ValueError, TypeError) as exc:
                return cjson({"error": str(exc)}, 400)
        return endpoint

    def settings() -> dict[str, str]:
        return {
            "login_authority_host": login.url,
            "graph_base": graph.base,
            "bot_scope": bot.scope,
            "graph_scope": graph.scope,
            "ca_file": str(materials.ca_file),
        }

    async def c_info(request: Request) -> Response:
        with S.lock:
            counts = {
                "tenants": len(S.tenants), "users": len(S.users), "chats": len(S.chats), "teams": len(S.teams),
                "conversations": len(S.conversations), "webhooks": len(S.webhooks),
            }
        return cjson({"url": S.base_url, "ca_file": str(materials.ca_file), "settings": settings(),
                      "enforce_limits": S.enforce_limits, "token_lifetime": S.token_lifetime, "counts": counts})

    async def c_settings(request: Request) -> Response:
        return cjson(settings())

    async def c_ca(request: Request) -> Response:
        return Response(materials.ca_file.read_bytes(), media_type="application/x-pem-file")

    async def c_tenants(request: Request) -> Response:
        S.add_tenant(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_users(request: Request) -> Response:
        S.add_user(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_chats(request: Request) -> Response:
        S.add_chat(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_teams(request: Request) -> Response:
        S.add_team(**await cbody(request))
        return cjson({"ok": True}, 201)

    async def c_conversations(request: Request) -> Response:
        return cjson({"service_url": S.add_conversation(**await cbody(request))}, 201)

    async def c_conversation_delete(request: Request) -> Response:
        S.remove_conversation(request.path_params["conversation_id"])
        return cjson({"ok": True})

    async def c_bot_add(request: Request) -> Response:
        data = await cbody(request)
        S.add_bot(request.path_params["conversation_id"], data["bot_app_id"])
        return cjson({"ok": True})

    async def c_bot_remove(request: Request) -> Response:
        S.remove_bot(request.path_params["conversation_id"], request.path_params["bot_app_id"])
        return cjson({"ok": True})

    async def c_block(request: Request) -> Response:
        data = await cbody(request)
        S.block_conversation(request.path_params["conversation_id"], bool(data.get("blocked", True)))
        return cjson({"ok": True})

    async def c_webhooks(request: Request) -> Response:
        if request.method == "GET":
            return cjson({"webhooks": S.list_webhooks()})
        url = S.add_webhook(**await cbody(request))
        return cjson({"url": url}, 201)

    async def c_webhook_delete(request: Request) -> Response:
        S.remove_webhook(request.path_params["webhook_id"])
        return cjson({"ok": True})

    async def c_faults(request: Request) -> Response:
        if request.method == "GET":
            return cjson({"faults": S.list_faults()})
        if request.method == "DELETE":
            S.clear_faults()
            return cjson({"ok": True})
        return cjson({"fault_id": S.add_fault(Fault(**await cbody(request)))}, 201)

    async def c_fault_delete(request: Request) -> Response:
        if not S.remove_fault(request.path_params["fault_id"]):
            raise KeyError(f"unknown fault {request.path_params['fault_id']!r}")
        return cjson({"ok": True})

    async def c_requests(request: Request) -> Response:
        if request.method == "DELETE":
            S.reset_records()
            return cjson({"ok": True})
        q = request.query_params
        since = int(q.get("since", "0"))
        kind = q.get("kind")
        recs = [r for r in S.snapshot() if r.seq > since and (kind is None or r.kind == kind)]
        if "limit" in q:
            recs = recs[: int(q["limit"])]
        last = recs[-1].seq if recs else since
        return cjson({"requests": [r.to_dict() for r in recs], "last_seq": last})

    async def c_limits(request: Request) -> Response:
        data = await cbody(request) if request.method == "POST" else {}
        if "enforce" in data:
            S.enforce_limits = bool(data["enforce"])
        if data.get("reset"):
            S.reset_limits()
        return cjson({
            "enforce_limits": S.enforce_limits,
            "limits": {
                name: {"windows": [list(w) for w in lim.windows], "per": lim.per, "applies_to": lim.applies_to,
                       "source": lim.source, "enforced": lim.enforced, "note": lim.note}
                for name, lim in MICROSOFT_LIMITS.items()
            },
        })

    async def c_revoke(request: Request) -> Response:
        data = await cbody(request)
        return cjson({"revoked": S.revoke_tokens(data.get("tenant"), data.get("client_id"))})

    async def c_reset(request: Request) -> Response:
        S.reset()
        return cjson({"ok": True})

    async def c_config(request: Request) -> Response:
        return cjson(S.load_config(await cbody(request)), 201)

    control_routes = [
        Route("/", control(c_info), methods=["GET"]),
        Route("/settings", control(c_settings), methods=["GET"]),
        Route("/ca.pem", control(c_ca), methods=["GET"]),
        Route("/tenants", control(c_tenants), methods=["POST"]),
        Route("/users", control(c_users), methods=["POST"]),
        Route("/chats", control(c_chats), methods=["POST"]),
        Route("/teams", control(c_teams), methods=["POST"]),
        Route("/conversations", control(c_conversations), methods=["POST"]),
        Route("/conversations/{conversation_id}", control(c_conversation_delete), methods=["DELETE"]),
        Route("/conversations/{conversation_id}/bots", control(c_bot_add), methods=["POST"]),
        Route("/conversations/{conversation_id}/bots/{bot_app_id}", control(c_bot_remove), methods=["DELETE"]),
        Route("/conversations/{conversation_id}/block", control(c_block), methods=["POST"]),
        Route("/webhooks", control(c_webhooks), methods=["GET", "POST"]),
        Route("/webhooks/{webhook_id}", control(c_webhook_delete), methods=["DELETE"]),
        Route("/faults", control(c_faults), methods=["GET", "POST", "DELETE"]),
        Route("/faults/{fault_id}", control(c_fault_delete), methods=["DELETE"]),
        Route("/requests", control(c_requests), methods=["GET", "DELETE"]),
        Route("/limits", control(c_limits), methods=["GET", "POST"]),
        Route("/tokens/revoke", control(c_revoke), methods=["POST"]),
        Route("/reset", control(c_reset), methods=["POST"]),
        Route("/config", control(c_config), methods=["POST"]),
    ]

    routes = [
        # Microsoft Graph
        Mount(graph.prefix, routes=graph.routes()),
        # Bot Framework connector
        Mount(bot.prefix, routes=bot.routes()),
        # Workflows webhooks
        Mount(workflows.prefix, routes=workflows.routes()),
        # Control
        Mount("/_sandbox", routes=control_routes),
        # Entra ID login, and Bot Framework's OpenID metadata, at the root
        *login.routes(),
    ]
    app = Starlette(routes=routes)
    app.state.settings = settings
    return app
