"""Sandbox: a local stand-in for Microsoft over real HTTPS on loopback."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import httpx
import jwt
import uvicorn

from .activities import InboundConversation, TeamsUser
from .app import build_app
from .faults import Fault
from .plumbing import Runtime
from .state import RecordedRequest, State
from .tls import Materials

__all__ = ["Sandbox", "InboundConversation", "TeamsUser"]

HOST = "127.0.0.1"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


class _Server(uvicorn.Server):
    """uvicorn server that reports when it is listening, exits as soon as it
    is told to (not on uvicorn's 0.1 s tick) and does not wait for idle
    keep-alive clients to answer TLS close_notify when stopping."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event, runtime: Runtime):
        super().__init__(config)
        self._ready = ready
        self._runtime = runtime

    async def startup(self, sockets: Optional[list[socket.socket]] = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()

    async def main_loop(self) -> None:
        ev = self._runtime.stop_event
        assert ev is not None
        while True:
            await self.on_tick(0)  # refreshes the Date header
            if self.should_exit:
                return
            try:
                await asyncio.wait_for(ev.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    async def shutdown(self, sockets: Optional[list[socket.socket]] = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for conn in list(self.server_state.connections):
            conn.shutdown()  # idle: close; busy: close after the answer
        # answers held by faults were released by stop_event; give in-flight
        # answers a moment to go out, then drop whatever is left
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while self.server_state.tasks and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.server_state.connections):
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


class Sandbox:
    """Microsoft's login, Graph activity-feed, Bot Framework connector and
    Workflows webhook endpoints, served over HTTPS on 127.0.0.1 with a
    throw-away CA, for tests, demos, benchmarks and host teams without a tenant.

    The port is reserved at construction, so ``url`` (and the service URLs
    and webhook URLs handed out by ``add_*``) are known before ``start()``.
    ``stop()`` + ``start()`` serve again on the same port with all state kept.
    """

    def __init__(
        self,
        enforce_limits: bool = True,
        port: int = 0,
        state_dir: Union[str, Path, None] = None,
        *,
        token_lifetime: int = 3599,
        max_records: Optional[int] = 100_000,
    ):
        self._own_dir = state_dir is None
        self.state_dir = Path(tempfile.mkdtemp(prefix="pgteams-sandbox-")) if state_dir is None else Path(state_dir)
        self._materials = Materials(self.state_dir)
        self._sock: Optional[socket.socket] = self._bind(port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"https://{HOST}:{self.port}"
        self.ca_file = str(self._materials.ca_file)
        self._state = State(
            self.url, enforce_limits=enforce_limits, token_lifetime=token_lifetime, max_records=max_records
        )
        self._runtime = Runtime()
        self._app = build_app(self._state, self._runtime, self._materials)
        self._life = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[_Server] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._error: Optional[BaseException] = None
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    @staticmethod
    def _bind(port: int) -> socket.socket:
        # proto=IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(False)
        return sock

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> "Sandbox":
        """Serve in a background thread; returns once listening."""
        with self._life:
            if self._closed:
                raise RuntimeError("sandbox is closed")
            if self._thread is not None:
                return self
            sock = self._sock if self._sock is not None else self._bind(self.port)
            self._sock = None
            config = uvicorn.Config(
                self._app,
                ssl_certfile=str(self._materials.cert_file),
                ssl_keyfile=str(self._materials.key_file),
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                ws="none",
                interface="asgi3",
                server_header=False,
                date_header=True,
                timeout_keep_alive=15,
                timeout_graceful_shutdown=3,
                backlog=2048,
            )
            ready = threading.Event()
            server = _Server(config, ready, self._runtime)
            self._error = None
            thread = threading.Thread(
                target=self._serve, args=(server, sock, ready), name=f"pgteams-sandbox:{self.port}", daemon=True
            )
            thread.start()
            ready.wait()
            if not server.started:
                thread.join()
                sock.close()
                raise RuntimeError(f"sandbox failed to start: {self._error!r}")
            self._server, self._thread = server, thread
            return self

    def _serve(self, server: _Server, sock: socket.socket, ready: threading.Event) -> None:
        try:  # optional: uvloop, like uvicorn's loop="auto"
            import uvloop  # type: ignore[import-not-found]

            loop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._runtime.stop_event = asyncio.Event()
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
        finally:
            ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._runtime.stop_event = None
                self._loop = None

    def stop(self) -> None:
        """Stop serving (connections are refused); state is kept. start() again
        serves on the same port."""
        with self._life:
            server, thread, loop = self._server, self._thread, self._loop
            if thread is None or server is None:
                return
            server.should_exit = True
            ev = self._runtime.stop_event
            if loop is not None and ev is not None:
                try:
                    loop.call_soon_threadsafe(ev.set)  # release held (timeout/slow) answers
                except RuntimeError:
                    pass
            thread.join()
            self._server = self._thread = None

    def close(self) -> None:
        """stop(), release the reserved port and delete a temporary state dir."""
        self.stop()
        with self._life:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            if not self._closed and self._own_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)
            self._closed = True

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} {'running' if self.running else 'stopped'}>"

    # ------------------------------------------------------------- settings
    def settings(self) -> dict[str, str]:
        """What the runner must point at: ``login_authority_host``, ``graph_base``, ``bot_scope``,
        ``graph_scope``, ``ca_file`` (never secrets)."""
        return self._app.state.settings()

    @property
    def enforce_limits(self) -> bool:
        return self._state.enforce_limits

    @enforce_limits.setter
    def enforce_limits(self, value: bool) -> None:
        self._state.enforce_limits = bool(value)

    @property
    def token_lifetime(self) -> int:
        """expires_in of tokens issued from now on (seconds)."""
        return self._state.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, value: int) -> None:
        self._state.token_lifetime = int(value)

    # ------------------------------------------------------------- the world
    def add_tenant(
        self,
        aad_tenant_id: str,
        *,
        client_id: str,
        client_secret: Optional[str] = None,
        bot_app_id: Optional[str] = None,
        bot_secret: Optional[str] = None,
        client_certificate: Union[str, bytes, None] = None,
        bot_certificate: Union[str, bytes, None] = None,
    ) -> None:
        """Register a tenant with its Graph app (``client_id``) and optionally
        its bot (``bot_app_id``). ``bot_secret`` defaults to ``client_secret``.
        ``client_certificate``/``bot_certificate``: public certificate PEM for
        certificate (client_assertion) credentials."""
        self._state.add_tenant(
            aad_tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            bot_app_id=bot_app_id,
            bot_secret=bot_secret,
            client_certificate=client_certificate,
            bot_certificate=bot_certificate,
        )

    def add_user(self, aad_tenant_id: str, user_id: str, *, app_installed: bool = True) -> None:
        self._state.add_user(aad_tenant_id, user_id, app_installed=app_installed)

    def remove_user(self, user_id: str) -> None:
        self._state.remove_user(user_id)

    def add_chat(self, aad_tenant_id: str, chat_id: str, *, app_installed: bool = True) -> None:
        self._state.add_chat(aad_tenant_id, chat_id, app_installed=app_installed)

    def add_team(self, aad_tenant_id: str, team_id: str, *, app_installed: bool = True) -> None:
        self._state.add_team(aad_tenant_id, team_id, app_installed=app_installed)

    def add_conversation(
        self,
        aad_tenant_id: str,
        conversation_id: str,
        *,
        bot_app_ids: Union[str, Iterable[str]],
        conversation_type: str = "personal",
        region: str = "amer",
    ) -> str:
        """Register a Bot Framework conversation; returns its service URL
        (``f"{url}/bot/{region}/"``)."""
        return self._state.add_conversation(
            aad_tenant_id, conversation_id, bot_app_ids=bot_app_ids,
            conversation_type=conversation_type, region=region,
        )

    def remove_conversation(self, conversation_id: str) -> None:
        self._state.remove_conversation(conversation_id)

    def add_bot(self, conversation_id: str, bot_app_id: str) -> None:
        self._state.add_bot(conversation_id, bot_app_id)

    def remove_bot(self, conversation_id: str, bot_app_id: str) -> None:
        self._state.remove_bot(conversation_id, bot_app_id)

    def block_conversation(self, conversation_id: str, blocked: bool = True) -> None:
        self._state.block_conversation(conversation_id, blocked)

    def add_webhook(self, aad_tenant_id: str, *, webhook_id: Optional[str] = None, sig: Optional[str] = None) -> str:
        """Register a Workflows-style webhook; returns its URL (a secret)."""
        return self._state.add_webhook(aad_tenant_id, webhook_id=webhook_id, sig=sig)

    def remove_webhook(self, url: str) -> None:
        self._state.remove_webhook(url)

    def load_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Preload from a dict shaped like the ``--config`` JSON file."""
        return self._state.load_config(config)

    def reset(self) -> None:
        """Forget everything (tenants, targets, tokens, faults, limits, records)."""
        self._state.reset()

    # ---------------------------------------------------------------- tokens
    def revoke_tokens(self, tenant: Optional[str] = None, client_id: Optional[str] = None) -> int:
        """Invalidate issued tokens (all, or of one tenant/client); returns how many."""
        return self._state.revoke_tokens(tenant, client_id)

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._materials.jwk)]}

    def sign_token(self, claims: dict[str, Any], headers: Optional[dict[str, Any]] = None) -> str:
        """An RS256 JWT signed with the key served at the JWKS endpoints."""
        hdr = {"kid": self._materials.jwk["kid"]}
        if headers:
            hdr.update(headers)
        return jwt.encode(claims, self._materials.signing_key, algorithm="RS256", headers=hdr)

    # -------------------------------------------------------- inbound activities
    @property
    def bot_openid_metadata_url(self) -> str:
        """Bot Framework's OpenID metadata as the sandbox serves it: the ``openid_metadata_url``
        an inbound endpoint (``pgteams serve``) verifies :meth:`post_activity` tokens with."""
        return f"{self.url}/botframework/v1/.well-known/openidconfiguration"

    def inbound_token(
        self,
        bot_app_id: str,
        service_url: str,
        *,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: float = 3600,
        not_before: Optional[float] = None,
        claims: Optional[dict[str, Any]] = None,
    ) -> str:
        """A JWT like the one the Bot Framework puts on an activity it posts to a bot:
        ``iss`` https://api.botframework.com, ``aud`` = the bot's app id, ``serviceurl`` = the
        activity's serviceUrl, ``nbf``/``exp`` around now (``expires_in`` may be negative: an
        expired token), RS256 with the sandbox's key (``kid`` in the header). ``claims``
        overrides or adds claims."""
        now = int(time.time())
        body: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": int(now - 300 if not_before is None else not_before),
            "exp": int(now + expires_in),
            "iss": issuer,
            "aud": bot_app_id,
        }
        body.update(claims or {})
        return self.sign_token(body, {"typ": "JWT"})

    def inbound(
        self,
        conversation_id: str,
        *,
        bot_app_id: Optional[str] = None,
        bot_name: str = "pgteams bot",
        service_url: Optional[str] = None,
    ) -> InboundConversation:
        """Build activities for a registered conversation (its tenant, type and service URL):
        ``sb.inbound("a:conv").message(TeamsUser(aad_id, "Ada"))``. ``bot_app_id`` defaults to the
        conversation's only bot."""
        with self._state.lock:
            conv = self._state._conversation(conversation_id)
            bots = sorted(conv.bot_app_ids)
            tenant, ctype, region = conv.tenant, conv.conversation_type, conv.region
        if bot_app_id is None:
            if len(bots) != 1:
                raise ValueError("the conversation has several bots (or none): pass bot_app_id")
            bot_app_id = bots[0]
        return InboundConversation(service_url or self._state.service_url(region), tenant, conversation_id,
                                   bot_app_id, conversation_type=ctype, bot_name=bot_name)

    def post_activity(
        self,
        endpoint_url: str,
        activity: dict[str, Any],
        *,
        bot_app_id: str,
        token: Optional[str] = None,
        sign: bool = True,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: float = 3600,
        claims: Optional[dict[str, Any]] = None,
        headers: Optional[dict[str, str]] = None,
        verify: Union[bool, str] = True,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST an inbound activity to a bot endpoint as the Bot Framework does, with
        ``Authorization: Bearer <inbound_token(bot_app_id, activity["serviceUrl"], …)>``.
        ``token`` sends that token instead; ``sign=False`` sends none. ``verify``: a CA file (or
        False) for an https endpoint. Returns the httpx response."""
        hdrs = {"Content-Type": "application/json", "User-Agent": "Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)"}
        if sign:
            tok = token or self.inbound_token(bot_app_id, str(activity.get("serviceUrl", "")), issuer=issuer,
                                              expires_in=expires_in, claims=claims)
            hdrs["Authorization"] = f"Bearer {tok}"
        hdrs.update(headers or {})
        ver: Any = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        with httpx.Client(verify=ver, timeout=timeout, trust_env=False) as client:
            return client.post(endpoint_url, content=json.dumps(activity).encode("utf-8"), headers=hdrs)

    # ---------------------------------------------------------------- faults
    def fault(self, fault: Fault) -> str:
        return self._state.add_fault(fault)

    def remove_fault(self, fault_id: str) -> bool:
        return self._state.remove_fault(fault_id)

    def clear_faults(self) -> None:
        self._state.clear_faults()

    @property
    def faults(self) -> list[dict[str, Any]]:
        return self._state.list_faults()

    def reset_limits(self) -> None:
        """Empty every rate-limit window."""
        self._state.reset_limits()

    # --------------------------------------------------------------- records
    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.snapshot()

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], Any], timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` is truthy; return that snapshot.
        Raises TimeoutError after ``timeout`` seconds."""
        return self._state.wait_for(predicate, timeout)

    def reset_records(self) -> None:
        self._state.reset_records()
