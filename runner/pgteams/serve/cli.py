"""The ``pgteams serve`` command."""

from __future__ import annotations

import logging
from typing import Any, Optional

from .app import build_app
from .settings import DEFAULT_ISSUER, DEFAULT_OPENID_METADATA_URL, ServeSettings


def _serve_command() -> Any:
    import click

    @click.command("serve")
    @click.option("--dsn", envvar="PGTEAMS_DSN", required=True,
                  help="Database (a login that is a member of msteams_app).")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", type=int, default=3978, show_default=True, help="Port (0: any free port).")
    @click.option("--path", envvar="PGTEAMS_SERVE_PATH", default="/api/messages", show_default=True,
                  help="The bot messaging endpoint path.")
    @click.option("--openid-metadata-url", envvar="PGTEAMS_OPENID_METADATA_URL",
                  default=DEFAULT_OPENID_METADATA_URL, show_default=True,
                  help="Bot Framework OpenID metadata (signing keys).")
    @click.option("--issuer", envvar="PGTEAMS_BOT_ISSUER", default=DEFAULT_ISSUER, show_default=True,
                  help="The issuer inbound tokens must have.")
    @click.option("--leeway", type=float, default=300.0, show_default=True, help="Clock skew allowed, seconds.")
    @click.option("--ca-file", envvar="PGTEAMS_CA_FILE", help="Trust this CA for the metadata (e.g. the sandbox's).")
    @click.option("--pool-size", type=int, default=10, show_default=True, help="Database connections at most.")
    @click.option("--ssl-certfile", help="Serve HTTPS with this certificate (else put TLS in front).")
    @click.option("--ssl-keyfile", help="Its private key.")
    @click.option("--log-level", default="INFO", show_default=True)
    def serve_command(dsn: str, host: str, port: int, path: str, openid_metadata_url: str, issuer: str,
                      leeway: float, ca_file: Optional[str], pool_size: int, ssl_certfile: Optional[str],
                      ssl_keyfile: Optional[str], log_level: str) -> None:
        """Receive Teams activities: verify the Bot Framework JWT, capture conversation references,
        record card actions (acknowledge, escalate, retry, discard) and answer with the updated card."""
        import uvicorn

        logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        try:
            settings = ServeSettings.from_env(dsn=dsn, path=path, openid_metadata_url=openid_metadata_url,
                                              issuer=issuer, leeway_seconds=leeway, ca_file=ca_file,
                                              pool_max_size=pool_size)
        except (ValueError, TypeError) as exc:
            raise click.ClickException(str(exc)) from None
        app = build_app(settings)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False,
                    ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level=log_level.lower())

    return serve_command


#: The click command the main CLI registers (``main.add_command(serve_command)``).
serve_command = _serve_command()
