"""The `pgteams` command line: migrate, demo, run, sandbox, maintain, status, serve."""

from __future__ import annotations

import sys

import click

from . import __version__


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit non-zero (no traceback)."""
    click.echo(f"pgteams: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "PGTEAMS"})
@click.version_option(__version__, prog_name="pgteams")
def main() -> None:
    """pgteams: a PostgreSQL-native delivery outbox and audit ledger for Microsoft Teams."""


@main.command()
@click.option("--dsn", envvar="PGTEAMS_DSN", help="libpq connection string or URI. Without it: "
              "a throw-away local PostgreSQL is started, migrated, summarised and removed.")
@click.option("--steps", type=int, default=None, help="Apply at most this many pending steps.")
@click.option("--dry-run", is_flag=True, help="List the pending steps; apply nothing.")
def migrate(dsn: str | None, steps: int | None, dry_run: bool) -> None:
    """Apply migrations.yml (roles, schema msteams, functions, views) with yoyo-migrations."""
    from .ops.migrate import MigrateError, migrate as apply, pending, schema_summary

    def run(target: str) -> None:
        if dry_run:
            todo = pending(target)
            click.echo(f"{len(todo)} pending step(s)" + "".join(f"\n  {s}" for s in todo))
            return
        applied = apply(target, limit=steps)
        click.echo(f"applied {len(applied)} step(s)" + "".join(f"\n  {s}" for s in applied)
                   if applied else "nothing to apply: the database is up to date")
        for key, value in schema_summary(target):
            click.echo(f"  {key:<11} {value}")

    try:
        if dsn:
            run(dsn)
        else:
            from .ops.embedded import EmbeddedPostgres, EmbeddedPostgresError

            try:
                with EmbeddedPostgres() as pg:
                    click.echo(f"started a throw-away PostgreSQL on 127.0.0.1:{pg.port}")
                    run(pg.dsn("postgres"))
            except EmbeddedPostgresError as exc:
                fail(str(exc))
    except MigrateError as exc:
        fail(str(exc))


from .sandbox.cli import sandbox_command  # noqa: E402

main.add_command(sandbox_command)

from .ops.maintain import maintain_command, purge_command  # noqa: E402

main.add_command(maintain_command)
main.add_command(purge_command)

from .ops.status import status_command  # noqa: E402

main.add_command(status_command)

from .serve import serve_command  # noqa: E402

main.add_command(serve_command)


def _setup_logging(level: str) -> None:
    import logging

    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


@main.command()
@click.option("--dsn", envvar="PGTEAMS_DSN", required=True, help="Database to send from (role msteams_runner).")
@click.option("--worker-id", help="Name of this runner in leases (default host:pid).")
@click.option("--batch-size", type=int, help="Deliveries per claim (default 100).")
@click.option("--concurrency", type=int, help="Sends in flight at once (default 64).")
@click.option("--lease-seconds", type=float, help="Lease per claim (default 120).")
@click.option("--poll-interval", type=float, help="Seconds between polls when no NOTIFY arrives (default 5).")
@click.option("--shutdown-timeout", type=float, help="SIGTERM: seconds in-flight sends may take (default 20).")
@click.option("--http-timeout", type=float, help="Seconds per HTTP request (default 15).")
@click.option("--login-authority-host", help="Login authority (default https://login.microsoftonline.com).")
@click.option("--graph-base", help="Graph base URL (default https://graph.microsoft.com/v1.0).")
@click.option("--ca-file", help="Trust this CA bundle instead of the default (certifi) one, e.g. the sandbox's.")
@click.option("--https-proxy", help="Reach Microsoft through this proxy (the environment's proxy settings are ignored).")
@click.option("--service-url-host", "service_url_hosts", multiple=True,
              help="Allow bot sends to this serviceUrl host (repeatable; replaces Microsoft's defaults).")
@click.option("--webhook-host", "webhook_hosts", multiple=True,
              help="Allow webhook sends to this host or .suffix (repeatable; replaces the defaults).")
@click.option("--no-throttle", is_flag=True, default=None, help="Do not pace sends at Microsoft's limits.")
@click.option("--no-listen", is_flag=True, default=None, help="Poll only, no LISTEN.")
@click.option("--pgbouncer", is_flag=True, default=None,
              help="Behind a transaction-pooling PgBouncer: no LISTEN, no session options, no prepared statements.")
@click.option("--metrics-port", type=int, help="Serve Prometheus /metrics on this port.")
@click.option("--log-level", default="INFO", show_default=True)
def run(dsn, worker_id, batch_size, concurrency, lease_seconds, poll_interval, shutdown_timeout, http_timeout,
        login_authority_host, graph_base, ca_file, https_proxy, service_url_hosts, webhook_hosts, no_throttle,
        no_listen, pgbouncer, metrics_port, log_level) -> None:
    """Send due deliveries until SIGTERM/SIGINT, each with its own tenant's credentials."""
    import asyncio

    from .runner.config import Settings
    from .runner.worker import Runner

    _setup_logging(log_level)
    try:
        settings = Settings.from_env(
            dsn=dsn, worker_id=worker_id, batch_size=batch_size, concurrency=concurrency,
            lease_seconds=lease_seconds, poll_interval=poll_interval, shutdown_timeout=shutdown_timeout,
            http_timeout=http_timeout, login_authority_host=login_authority_host, graph_base=graph_base,
            ca_file=ca_file, https_proxy=https_proxy, service_url_hosts=tuple(service_url_hosts) or None,
            webhook_hosts=tuple(webhook_hosts) or None, throttle=False if no_throttle else None,
            listen=False if no_listen else None, pgbouncer=True if pgbouncer else None,
            metrics_port=metrics_port)
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    runner = Runner(settings)
    if settings.metrics_port:
        runner.metrics.serve(settings.metrics_port)
    sys.exit(asyncio.run(runner.run()))


@main.command()
@click.option("--dsn", envvar="PGTEAMS_DSN", help="Use this database (migrated, demo tenants purged after) "
              "instead of a throw-away local PostgreSQL.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--log-level", default="WARNING", show_default=True, help="The runner's log level.")
def demo(dsn: str | None, no_progress: bool, log_level: str) -> None:
    """The whole loop on an embedded default: PostgreSQL, the Microsoft sandbox, three tenants, a mixed batch."""
    from .demo import run_demo
    from .ops.embedded import EmbeddedPostgresError
    from .ops.migrate import MigrateError

    _setup_logging(log_level)
    try:
        sys.exit(run_demo(dsn, progress=not no_progress))
    except (EmbeddedPostgresError, MigrateError) as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
