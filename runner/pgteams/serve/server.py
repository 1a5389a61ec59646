"""Serve an ASGI app with uvicorn in a background thread (tests, examples, embedding)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Optional


class BackgroundServer:
    """Serve an ASGI app with uvicorn in a thread on 127.0.0.1 (tests, examples, embedding).

    ``port=0`` picks a free port; ``url`` is known once constructed. ``start()`` returns once the
    app's lifespan has started (the database pool is open) and the socket listens."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        scheme = "https" if uvicorn_options.get("ssl_certfile") else "http"
        self.url = f"{scheme}://{self.host}:{self.port}"
        ready = threading.Event()
        self._ready = ready

        class _Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                ready.set()

        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", server_header=False,
                                **uvicorn_options)
        self._server = _Server(config)
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> "BackgroundServer":
        self._thread = threading.Thread(target=self._run, name=f"pgteams-serve:{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if not self._server.started:
            self._thread.join()
            raise RuntimeError(f"pgteams serve failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
            self._thread = None
        self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
