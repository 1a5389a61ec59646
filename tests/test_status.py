"""`pgteams status`: what ops read in a terminal or a script."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import NO_RIGHTS_ROLE

A = "00000000-0000-0000-0000-0000000000a1"
FEED = ('{"topic": {"source": "entityUrl", "value": "x"}, "activityType": "systemDefault", '
        '"previewText": {"content": "x"}}')


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgteams.cli", *args], capture_output=True, text=True, timeout=60)


def _seed(db) -> None:
    db.execute("SELECT msteams.upsert_integration(%s, 'active', true, '11111111-1111-1111-1111-111111111111', "
               "'app', 'env:X', 'bot')", (A,))
    for i in range(3):
        db.execute("SELECT msteams.enqueue_notification(%s, 'escalation', 'critical', 'user_activity', %s, %s, %s)",
                   (A, f"u{i}@a.example", FEED, f"n-{i}"))
    rows = db.execute("SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries('w', 2)").fetchall()
    db.execute("SELECT msteams.complete_delivery('w', %s, %s, %s, 'sent', 204)", rows[0])
    db.execute("SELECT msteams.complete_delivery('w', %s, %s, %s, 'failed', 404, 'graph_not_found')", rows[1])


def test_status_json_reports_queue_health_unacknowledged_and_dead_letters(db, dsn):
    _seed(db)
    proc = _cli("status", "--dsn", dsn, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"queue", "health", "unacknowledged_critical", "dead_letters"}
    (queue,) = data["queue"]
    assert (queue["tenant"], queue["due"], queue["total"]) == (A, 1, 1)
    (health,) = data["health"]
    assert (health["sent"], health["failed_final"], health["error_codes"]) == (1, 1, {"graph_not_found": 1})
    assert data["unacknowledged_critical"][0]["deliveries"] == 1
    assert data["dead_letters"][0]["error_code"] == "graph_not_found"


def test_status_table_is_readable(db, dsn):
    _seed(db)
    proc = _cli("status", "--dsn", dsn)
    assert proc.returncode == 0, proc.stderr
    for title in ("Queue (msteams.queue_status)", "Last 24 hours per tenant", "Dead letters"):
        assert title in proc.stdout
    assert "graph_not_found 1" in proc.stdout


def test_status_without_rights_is_one_clean_line(cluster, dbname):
    proc = _cli("status", "--dsn", cluster.dsn(dbname, user=NO_RIGHTS_ROLE))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("pgteams: status: permission denied")
