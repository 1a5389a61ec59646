"""A throw-away local PostgreSQL for the demo, the tests and the benchmarks.

Built on testing.postgresql, with one addition: ``initdb`` and ``postgres`` refuse to run as
root, so when this process is root the server runs as the unprivileged ``postgres`` OS user
(through ``setpriv``) in a data directory owned by that user. Clients still connect from this
process over 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import tempfile
from pathlib import Path

import testing.postgresql

SERVER_USER = "postgres"
MIN_MAJOR = 15

# Quick and disposable: for tests and the demo. Benchmarks pass durable=True.
DISPOSABLE_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
COMMON_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "256MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "timezone": "UTC",
}


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be found or started."""


def find_bindir() -> Path:
    """The newest PostgreSQL (15 or later) server binary directory on this machine."""
    candidates = []
    env = os.environ.get("PGTEAMS_PG_BINDIR")
    if env:
        candidates.append(Path(env))
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in found]
    pg_config = shutil.which("pg_config")
    if pg_config:
        candidates.append(Path(os.popen(f"{pg_config} --bindir").read().strip()))
    for d in candidates:
        if (d / "initdb").exists() and (d / "postgres").exists():
            version = os.popen(f"{d / 'postgres'} --version").read().split()
            major = int(version[2].split(".")[0]) if len(version) >= 3 else 0
            if major >= MIN_MAJOR:
                return d
    raise EmbeddedPostgresError(
        "no PostgreSQL 15+ server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config); "
        "install them with scripts/install-deps.sh"
    )


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--init-groups", "--reset-env", "--", *argv]


class _Postgresql(testing.postgresql.Postgresql):
    """testing.postgresql, able to run the server as an unprivileged user when we are root."""

    def initialize_database(self):
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise EmbeddedPostgresError(
                    f"running as root, but there is no '{SERVER_USER}' OS user to run PostgreSQL as"
                ) from None
            for sub in ("", "data", "tmp"):
                path = os.path.join(self.base_dir, sub)
                os.makedirs(path, exist_ok=True)
                os.chown(path, pw.pw_uid, pw.pw_gid)
        super().initialize_database()

    def get_server_commandline(self):
        return _as_server_user(super().get_server_commandline())


class EmbeddedPostgres:
    """Start a private PostgreSQL cluster on a free port; remove it on stop().

    >>> with EmbeddedPostgres() as pg:
    ...     dsn = pg.dsn("postgres")
    """

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self._bindir = find_bindir()
        merged = dict(COMMON_SETTINGS)
        if not durable:
            merged.update(DISPOSABLE_SETTINGS)
        merged.update(settings or {})
        self._settings = merged
        self._pg: _Postgresql | None = None
        self._base_dir: str | None = None

    @property
    def bindir(self) -> Path:
        return self._bindir

    def start(self) -> "EmbeddedPostgres":
        self._base_dir = tempfile.mkdtemp(prefix="pgteams-pg-")
        os.chmod(self._base_dir, 0o755)
        args = " ".join(f"-c {k}={v}" for k, v in self._settings.items())
        initdb = _as_server_user([str(self._bindir / "initdb")])
        # testing.postgresql takes one program path; a tiny wrapper carries the setpriv prefix.
        wrapper = os.path.join(self._base_dir, "initdb.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec " + " ".join(initdb) + ' "$@"\n')
        os.chmod(wrapper, 0o755)
        try:
            self._pg = _Postgresql(
                base_dir=os.path.join(self._base_dir, "cluster"),
                initdb=wrapper,
                initdb_args="-U postgres -A trust -E UTF8 --no-locale",
                postgres=str(self._bindir / "postgres"),
                postgres_args=f"-h 127.0.0.1 {args}",
            )
        except Exception as exc:
            shutil.rmtree(self._base_dir, ignore_errors=True)
            raise EmbeddedPostgresError(f"could not start PostgreSQL: {exc}") from exc
        return self

    @property
    def port(self) -> int:
        assert self._pg is not None, "not started"
        return int(self._pg.settings["port"])

    @property
    def data_dir(self) -> str:
        assert self._pg is not None, "not started"
        return self._pg.get_data_directory()

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def restart(self) -> None:
        """Stop the server (fast shutdown: every session is disconnected) and start it again on
        the same data directory and port, as after a crash-free restart or failover."""
        assert self._pg is not None, "not started"
        self._pg.terminate()
        self._pg.start()

    def stop(self) -> None:
        if self._pg is not None:
            self._pg.stop()
            self._pg = None
        if self._base_dir:
            shutil.rmtree(self._base_dir, ignore_errors=True)
            self._base_dir = None

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
