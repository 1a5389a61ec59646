"""`pgteams migrate`: idempotence, fresh install == step-by-step upgrade, atomic steps, clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys

import psycopg
import pytest

from conftest import NO_RIGHTS_ROLE, PASSWORD, PASSWORD_ROLE
from pgteams.ops.migrate import MigrateError, Step, load_steps, migrate, pending


def _schema_dump(cluster, dbname: str) -> str:
    out = subprocess.run(
        [str(cluster.bindir / "pg_dump"), "--schema-only", "--schema=msteams",
         "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", dbname],
        capture_output=True, text=True, check=True,
    ).stdout
    # Drop only what differs between any two dumps: the random \restrict key.
    return "\n".join(l for l in out.splitlines() if not l.startswith(("\\restrict", "\\unrestrict")))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgteams.cli", *args], capture_output=True, text=True, timeout=120)


def test_rerun_is_a_no_op(dsn):
    assert pending(dsn) == []
    assert migrate(dsn) == []


def test_fresh_install_equals_step_by_step_upgrade(cluster):
    fresh, stepwise = cluster.create_db(template=None), cluster.create_db(template=None)
    try:
        applied_fresh = migrate(cluster.dsn(fresh))
        applied_steps = []
        while True:
            one = migrate(cluster.dsn(stepwise), limit=1)
            if not one:
                break
            assert len(one) == 1
            applied_steps += one
        assert applied_steps == applied_fresh == [s.id for s in load_steps()]
        dump_fresh, dump_steps = _schema_dump(cluster, fresh), _schema_dump(cluster, stepwise)
        assert "CREATE TABLE msteams.outbox" in dump_fresh
        assert dump_fresh == dump_steps
    finally:
        cluster.drop_db(fresh)
        cluster.drop_db(stepwise)


def test_a_failing_step_leaves_nothing_and_is_applied_by_the_next_run(cluster):
    name = cluster.create_db(template=None)
    dsn = cluster.dsn(name)
    try:
        steps = load_steps()
        migrate(dsn, steps=steps)
        broken = Step(id="schema/9999_broken", sql="CREATE TABLE msteams.half_done (tenant uuid);\n"
                                                      "SELECT 1/0;")
        with pytest.raises(MigrateError) as info:
            migrate(dsn, steps=steps + [broken])
        message = str(info.value)
        assert "schema/9999_broken" in message and "division by zero" in message
        assert "\n" not in message
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('msteams.half_done')").fetchone()[0] is None
        assert pending(dsn, steps + [broken]) == ["schema/9999_broken"]
        fixed = Step(id="schema/9999_broken", sql="CREATE TABLE msteams.half_done (tenant uuid);")
        assert migrate(dsn, steps=steps + [fixed]) == ["schema/9999_broken"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('msteams.half_done')").fetchone()[0] is not None
    finally:
        cluster.drop_db(name)


def test_roles_are_shared_by_databases_of_one_cluster(cluster, template_db):
    # The template already created the roles; a second database migrates without error.
    name = cluster.create_db(template=None)
    try:
        assert "schema/0001_roles" in migrate(cluster.dsn(name))
    finally:
        cluster.drop_db(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_one_clean_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pgteams: ")
    return lines[0]


def test_cli_unreachable_dsn(cluster):
    line = _assert_one_clean_line(_cli("migrate", "--dsn", f"postgresql://postgres@127.0.0.1:{_free_port()}/x"))
    assert "cannot migrate" in line and "127.0.0.1" in line


def test_cli_wrong_password_never_prints_it(cluster):
    bad = "not-the-password-xyz"
    line = _assert_one_clean_line(
        _cli("migrate", "--dsn", f"postgresql://{PASSWORD_ROLE}:{bad}@127.0.0.1:{cluster.port}/postgres"))
    assert "password authentication failed" in line
    assert bad not in line and PASSWORD not in line


def test_cli_role_without_rights(cluster):
    name = cluster.create_db(template=None)
    try:
        line = _assert_one_clean_line(
            _cli("migrate", "--dsn", f"postgresql://{NO_RIGHTS_ROLE}@127.0.0.1:{cluster.port}/{name}"))
        assert "permission denied" in line
        with psycopg.connect(cluster.dsn(name)) as conn:
            assert conn.execute("SELECT to_regnamespace('msteams')").fetchone()[0] is None
    finally:
        cluster.drop_db(name)


def test_cli_migrate_reports_up_to_date(dsn):
    proc = _cli("migrate", "--dsn", dsn)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to apply" in proc.stdout
    assert "partitions" in proc.stdout
