"""``pgteams sandbox``: run the Microsoft stand-in until SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any, Optional

import click

from .core import Sandbox

__all__ = ["sandbox_command"]


@click.command("sandbox")
@click.option("--port", type=int, default=8443, show_default=True, help="Port on 127.0.0.1 (0 = any free port).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, dir_okay=True),
    default=None,
    help="Where the CA, certificate and signing key live; an existing CA there is reused. "
    "Default: a new temporary directory, deleted on exit.",
)
@click.option("--no-limits", is_flag=True, help="Do not enforce Microsoft's rate limits.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON file with tenants/users/chats/teams/conversations/webhooks/faults to preload.",
)
def sandbox_command(port: int, state_dir: Optional[str], no_limits: bool, config_file: Optional[str]) -> None:
    """Serve a local stand-in for Microsoft Teams' endpoints over HTTPS.

    Prints one JSON line with the base URL, the CA file to trust and the
    endpoint settings for the runner (never secrets), then serves until
    SIGINT or SIGTERM. Drive it with the HTTP control interface under
    /_sandbox/ (see docs/sandbox.md).
    """
    config: Optional[dict[str, Any]] = None
    if config_file is not None:
        try:
            with open(config_file, encoding="utf-8") as fh:
                config = json.load(fh)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--config") from None
    try:
        sb = Sandbox(enforce_limits=not no_limits, port=port, state_dir=state_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        if config is not None:
            try:
                sb.load_config(config)
            except (TypeError, ValueError, KeyError) as exc:
                raise click.BadParameter(str(exc), param_hint="--config") from None
        stop = threading.Event()

        def _on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            sb.start()
            click.echo(
                json.dumps(
                    {
                        "sandbox": sb.url,
                        "ca_file": sb.ca_file,
                        "control": f"{sb.url}/_sandbox/",
                        "enforce_limits": sb.enforce_limits,
                        "settings": sb.settings(),
                    }
                )
            )
            sys.stdout.flush()
            while not stop.wait(1.0):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sb.close()
