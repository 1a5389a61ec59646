"""The sandbox's ASGI application (Starlette): every surface mounted at its prefix, plus control.

A surface module lists its own routes; this module only says where each one is mounted and what
the runner's settings are (docs/sandbox.md, "Layout").
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from .botframework import BotFramework
from .control import Control
from .graph import Graph
from .login import Login
from .plumbing import Runtime
from .state import State
from .tls import Materials
from .unserved import Unserved
from .workflows import Workflows

__all__ = ["build_app"]


def build_app(state: State, runtime: Runtime, materials: Materials) -> Starlette:
    """The application; ``app.state.settings()`` is what the runner must point at."""
    login = Login(state, runtime, materials)
    graph = Graph(state, runtime, materials)
    bot = BotFramework(state, runtime, materials)
    workflows = Workflows(state, runtime, materials)

    def settings() -> dict[str, str]:
        return {
            "login_authority_host": login.url,
            "graph_base": graph.base,
            "bot_scope": bot.scope,
            "graph_scope": graph.scope,
            "ca_file": str(materials.ca_file),
        }

    control = Control(state, materials, settings)
    unserved = Unserved(state, runtime, materials)
    app = Starlette(routes=[
        Mount(graph.prefix, routes=graph.routes()),
        Mount(bot.prefix, routes=bot.routes()),
        Mount(workflows.prefix, routes=workflows.routes()),
        Mount(control.prefix, routes=control.routes()),
        *login.routes(),  # at the root, last: the authority host is the sandbox's URL, '/{tenant}/…'
    ], exception_handlers={404: unserved.answer, 405: unserved.answer})  # what no route serves
    app.state.settings = settings
    return app
