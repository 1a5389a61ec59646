"""pgteams.ops.maintain: scheduled maintenance, the leader lock, tenant purge, and their CLI commands."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from click.testing import CliRunner

from pgteams.ops.maintain import (
    LEADER_LOCK,
    MaintenanceLeader,
    maintain_command,
    maintenance_due,
    purge_command,
    purge_tenant,
    run_maintenance,
)

UTC = timezone.utc
TENANT_A = "00000000-0000-0000-0000-0000000000a1"
TENANT_B = "00000000-0000-0000-0000-0000000000b2"
ADMIN_LOGIN = "maint_admin"   # a login role granted msteams_admin: the functions run as their real role


@pytest.fixture
def admin_dsn(cluster, dbname, db) -> str:
    db.execute(f"""
        DO $$ BEGIN
            CREATE ROLE {ADMIN_LOGIN} LOGIN IN ROLE msteams_admin;
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$""")
    return cluster.dsn(dbname, user=ADMIN_LOGIN)


def _ledger_rows(db: psycopg.Connection, tenant: str, when: str, n: int) -> None:
    db.execute(
        """
        INSERT INTO msteams.notification_deliveries
            (tenant, created_at, delivery_id, attempt_number, status, final, internal_notification_id, category,
             priority, destination_type, destination_id, idempotency_key, enqueued_at, sent_at)
        SELECT %(tenant)s, %(when)s::timestamptz, g, 1, 'sent', true, 'n-' || g, 'assignment', 'high',
               'user_activity', 'u1', 'k-' || g, %(when)s::timestamptz, %(when)s::timestamptz
          FROM generate_series(1, %(n)s) AS g
        """,
        {"tenant": tenant, "when": when, "n": n},
    )


def _exists(db: psycopg.Connection, rel: str) -> bool:
    return db.execute("SELECT to_regclass(%s) IS NOT NULL", (rel,)).fetchone()[0]


# --- run_maintenance ---------------------------------------------------------------------------

def test_run_maintenance_creates_ahead_and_drops_expired(db, admin_dsn):
    db.execute("SELECT msteams.ensure_partitions(1, p_now => '2020-01-15 00:00+00')")
    _ledger_rows(db, TENANT_A, "2020-01-10 00:00+00", 3)
    db.execute("""INSERT INTO msteams.audit_events (tenant, created_at, surface, action_id, actor_user_id,
                                                    result_status, payload_hash)
                  VALUES (%s, '2020-01-10 00:00+00', 'bot', 'acknowledge', 'u1', 'success', repeat('a', 64))""",
               (TENANT_A,))

    result = run_maintenance(admin_dsn, months_ahead=2, now=datetime(2031, 1, 15, tzinfo=UTC))

    assert result["errors"] == {}
    created = {(r["table_name"], r["partition_name"]) for r in result["ensure_partitions"]}
    assert {("notification_deliveries", "notification_deliveries_p203103"),
            ("audit_events", "audit_events_p203103")} <= created
    dropped = {r["partition_name"]: r["rows_dropped"] for r in result["cleanup_notification_deliveries"]}
    assert dropped["notification_deliveries_p202001"] == 3
    audit_dropped = {r["partition_name"]: r["rows_dropped"] for r in result["cleanup_audit_events"]}
    assert audit_dropped["audit_events_p202001"] == 1
    assert not _exists(db, "msteams.notification_deliveries_p202001")
    assert _exists(db, "msteams.notification_deliveries_p203103")


def test_run_maintenance_steps_are_separate_transactions(db, admin_dsn):
    """A failing ensure_partitions does not roll back the retention that follows it."""
    db.execute("SELECT msteams.ensure_partitions(0, p_now => '2020-01-15 00:00+00')")
    db.execute("""CREATE TABLE msteams.notification_deliveries_odd PARTITION OF msteams.notification_deliveries
                  FOR VALUES FROM ('2033-01-10 00:00+00') TO ('2033-02-10 00:00+00')""")

    result = run_maintenance(admin_dsn, months_ahead=0, now=datetime(2033, 1, 15, tzinfo=UTC))

    assert result["errors"]["ensure_partitions"].endswith("[55000]")
    assert "notification_deliveries_odd" in result["errors"]["ensure_partitions"]
    assert "notification_deliveries_p202001" in {r["partition_name"] for r in result["cleanup_notification_deliveries"]}
    assert not _exists(db, "msteams.notification_deliveries_p202001"), "the retention step was committed"
    assert not _exists(db, "msteams.audit_events_p203301"), "the failed step left nothing behind"


def test_maintain_command_prints_what_it_did(admin_dsn):
    out = CliRunner().invoke(maintain_command, ["--dsn", admin_dsn, "--months-ahead", "5"])
    assert out.exit_code == 0, out.output
    assert "created 4 partition(s)" in out.stdout            # months +4 and +5 for both tables
    assert "dropped 0 delivery ledger partition(s), 0 row(s)" in out.stdout
    assert "dropped 0 audit ledger partition(s), 0 row(s)" in out.stdout


def test_maintain_command_error_is_one_line(db, admin_dsn):
    month5 = db.execute("SELECT date_trunc('month', now() AT TIME ZONE 'UTC') + interval '5 months'").fetchone()[0]
    db.execute(f"""CREATE TABLE msteams.notification_deliveries_odd PARTITION OF msteams.notification_deliveries
                   FOR VALUES FROM ('{month5 + timedelta(days=9)}+00') TO ('{month5 + timedelta(days=40)}+00')""")
    out = CliRunner().invoke(maintain_command, ["--dsn", admin_dsn, "--months-ahead", "5"])
    assert out.exit_code == 1
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("pgteams: ensure_partitions: ") and errors[0].endswith("[55000]")
    assert "Traceback" not in out.output
    assert "dropped 0 delivery ledger partition(s)" in out.stdout, "the retention steps still ran"


def test_maintain_command_bad_dsn_is_one_line():
    out = CliRunner().invoke(maintain_command, ["--dsn", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"])
    assert out.exit_code == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgteams: ")


def test_maintain_command_as_a_role_without_rights(cluster, dbname):
    from conftest import NO_RIGHTS_ROLE
    out = CliRunner().invoke(maintain_command, ["--dsn", cluster.dsn(dbname, user=NO_RIGHTS_ROLE)])
    assert out.exit_code == 1
    assert out.stderr.count("\n") == 3 and "[42501]" in out.stderr   # one line per refused step


# --- leader ------------------------------------------------------------------------------------

def test_maintenance_due_takes_the_lock_once_and_does_not_stack_it(dsn):
    with psycopg.connect(dsn, autocommit=True) as one, psycopg.connect(dsn, autocommit=True) as two:
        assert maintenance_due(one) is True
        assert maintenance_due(one) is True, "asking again while leading is still true"
        assert maintenance_due(two) is False, "another connection cannot lead meanwhile"
        one.execute("SELECT pg_advisory_unlock(hashtext(%s)::bigint)", (LEADER_LOCK,))
        assert maintenance_due(two) is True, "a single unlock freed it: the lock was not stacked"


def test_maintenance_leader_runs_only_when_leading_and_due(admin_dsn):
    clock = [datetime(2031, 1, 1, tzinfo=UTC)]
    first = MaintenanceLeader(admin_dsn, interval=timedelta(hours=1), clock=lambda: clock[0])
    second = MaintenanceLeader(admin_dsn, interval=timedelta(hours=1), clock=lambda: clock[0])
    try:
        kwargs = {"months_ahead": 0, "now": datetime(2031, 1, 15, tzinfo=UTC)}
        assert first.try_run(**kwargs) is not None, "the first process leads and runs"
        assert second.try_run(**kwargs) is None, "a second process does not run while the first leads"
        assert first.try_run(**kwargs) is None, "not again before the interval has passed"
        clock[0] += timedelta(hours=1)
        assert first.try_run(**kwargs) is not None, "again once the interval has passed"
        first.close()
        assert second.try_run(**kwargs) is not None, "after the leader closes, another process takes over"
    finally:
        first.close()
        second.close()


# --- purge -------------------------------------------------------------------------------------

def _tenant_rows(db: psycopg.Connection, tenant: str) -> dict[str, int]:
    tables = [r[0] for r in db.execute("""
        SELECT c.relname FROM pg_class AS c
          JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped
         WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition""")]
    return {t: db.execute(f"SELECT count(*) FROM msteams.{t} WHERE tenant = %s", (tenant,)).fetchone()[0]
            for t in tables}


def _two_tenants(db: psycopg.Connection, a_status: str = "inactive") -> None:
    db.execute("INSERT INTO msteams.integrations (tenant, install_status) VALUES (%s, %s), (%s, 'active')",
               (TENANT_A, a_status, TENANT_B))
    _ledger_rows(db, TENANT_A, "now", 25)
    _ledger_rows(db, TENANT_B, "now", 1)


def test_purge_tenant_loops_in_batches_until_complete(db, admin_dsn):
    _two_tenants(db)
    calls = []
    result = purge_tenant(admin_dsn, TENANT_A, dry_run=False, batch_size=10,
                          progress=lambda n, rows: calls.append((n, {r["table_name"]: r["rows"] for r in rows})))
    assert result.rows["notification_deliveries"] == 25
    assert result.rows["integrations"] == 1
    assert result.calls == 3 and [n for n, _ in calls] == [1, 2, 3]
    assert [c["notification_deliveries"] for _, c in calls] == [10, 10, 5], "at most batch_size per call"
    assert [c["integrations"] for _, c in calls] == [0, 0, 1], "the integration goes last"
    assert sum(_tenant_rows(db, TENANT_A).values()) == 0
    assert _tenant_rows(db, TENANT_B)["notification_deliveries"] == 1


def test_purge_tenant_dry_run_deletes_nothing(db, admin_dsn):
    _two_tenants(db)
    result = purge_tenant(admin_dsn, TENANT_A)
    assert result.dry_run and result.calls == 1
    assert result.rows["notification_deliveries"] == 25 and result.total == 26
    assert _tenant_rows(db, TENANT_A)["notification_deliveries"] == 25


def test_purge_command_dry_run_prints_counts(db, admin_dsn):
    _two_tenants(db)
    out = CliRunner().invoke(purge_command, ["--dsn", admin_dsn, "--tenant", TENANT_A])
    assert out.exit_code == 0, out.output
    assert f"tenant {TENANT_A}: would remove 26 row(s) (dry run: nothing deleted)" in out.stdout
    assert "notification_deliveries" in out.stdout and "run again with --execute" in out.stdout
    assert _tenant_rows(db, TENANT_A)["notification_deliveries"] == 25


def test_purge_command_execute_shows_progress(db, admin_dsn):
    _two_tenants(db)
    out = CliRunner().invoke(purge_command, ["--dsn", admin_dsn, "--tenant", TENANT_A, "--execute",
                                             "--batch-size", "10"])
    assert out.exit_code == 0, out.output
    assert out.stderr.count("batch ") == 3
    assert f"tenant {TENANT_A}: removed 26 row(s) in 3 batch(es)" in out.stdout
    assert sum(_tenant_rows(db, TENANT_A).values()) == 0


def test_purge_command_refuses_an_active_tenant_in_one_line(db, admin_dsn):
    _two_tenants(db, a_status="active")
    out = CliRunner().invoke(purge_command, ["--dsn", admin_dsn, "--tenant", TENANT_A, "--execute"])
    assert out.exit_code == 1
    assert out.stderr.strip() == f"pgteams: purge_tenant: tenant {TENANT_A} has an active integration [55000]"
    assert _tenant_rows(db, TENANT_A)["notification_deliveries"] == 25
    forced = CliRunner().invoke(purge_command, ["--dsn", admin_dsn, "--tenant", TENANT_A, "--execute", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sum(_tenant_rows(db, TENANT_A).values()) == 0


def test_purge_command_rejects_a_bad_tenant(admin_dsn):
    out = CliRunner().invoke(purge_command, ["--dsn", admin_dsn, "--tenant", "not-a-uuid"])
    assert out.exit_code == 1
    assert out.stderr.strip() == "pgteams: --tenant 'not-a-uuid' is not a uuid"
