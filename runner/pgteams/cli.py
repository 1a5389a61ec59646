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
    from .migrate import MigrateError, migrate as apply, pending, schema_summary

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
            from .embedded import EmbeddedPostgres, EmbeddedPostgresError

            try:
                with EmbeddedPostgres() as pg:
                    click.echo(f"started a throw-away PostgreSQL on 127.0.0.1:{pg.port}")
                    run(pg.dsn("postgres"))
            except EmbeddedPostgresError as exc:
                fail(str(exc))
    except MigrateError as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
