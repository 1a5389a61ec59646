"""Test fixtures: one throw-away PostgreSQL per session, a migrated template database, a clone per test.

Everything runs against a real PostgreSQL 15 cluster started by pgteams.ops.embedded (as the
unprivileged `postgres` OS user when the tests run as root).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import psycopg
import pytest

from pgteams.ops.embedded import EmbeddedPostgres
from pgteams.ops.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "pgteams_template"
_counter = itertools.count()

# Login roles used by the bad-input tests of `pgteams migrate` (see test_migrate.py).
PASSWORD_ROLE, PASSWORD = "pw_user", "correct-horse-battery"
NO_RIGHTS_ROLE = "no_rights_user"


class Cluster:
    def __init__(self, pg: EmbeddedPostgres) -> None:
        self.pg = pg
        self.port = pg.port
        self.bindir = pg.bindir

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return self.pg.dsn(dbname, user)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn(), autocommit=True)

    def create_db(self, template: str | None = TEMPLATE, prefix: str = "t") -> str:
        name = f"{prefix}_{os.getpid()}_{next(_counter)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def drop_db(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def cluster():
    pg = EmbeddedPostgres(settings={"max_locks_per_transaction": "256"}).start()
    c = Cluster(pg)
    # A role that must authenticate with a password, and one with no rights at all.
    hba = Path(pg.data_dir) / "pg_hba.conf"
    hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with c.admin() as conn:
        conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE ROLE {NO_RIGHTS_ROLE} LOGIN")
        conn.execute("SELECT pg_reload_conf()")
    yield c
    pg.stop()


@pytest.fixture(scope="session")
def template_db(cluster: Cluster) -> str:
    """A database migrated once per session, with pgTAP; tests clone it."""
    with cluster.admin() as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    dsn = cluster.dsn(TEMPLATE)
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
    with cluster.admin() as conn:
        conn.execute(f"ALTER DATABASE {TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    return TEMPLATE


@pytest.fixture
def dbname(cluster: Cluster, template_db: str):
    """A fresh clone of the migrated template database, dropped after the test."""
    name = cluster.create_db(template=template_db)
    yield name
    cluster.drop_db(name)


@pytest.fixture
def dsn(cluster: Cluster, dbname: str) -> str:
    return cluster.dsn(dbname)


@pytest.fixture
def db(dsn: str):
    """An autocommit superuser connection to the test's database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn
