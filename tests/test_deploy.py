"""deploy/: the alert rules pass promtool, and the dashboard is valid and uses only metrics the runner exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import yaml
from prometheus_client import generate_latest

from conftest import ROOT
from pgteams.runner.classify import Outcome
from pgteams.runner.metrics import Metrics

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "pgteams-dashboard.json"


def _exported_names() -> set[str]:
    """Every series name the runner's registry exposes (after one of each event)."""
    m = Metrics()
    m.attempt("graph", Outcome(status="failed", error_code="graph_throttled"), 0.1)
    m.reported("final"); m.token("cache"); m.throttle_wait(0.1); m.throttle_deferred(1)
    m.lease_reclaimed(); m.db_error("claim"); m.runners.set(1)
    m.database_gauges([{"metric": "queue_depth", "label": "due", "value": 1},
                       {"metric": "default_partition_rows", "label": "audit_events", "value": 0}])
    text = generate_latest(m.registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(pgteams_[a-z_]+)", expr))


def test_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed (scripts/install-deps.sh installs Debian's prometheus package)"
    proc = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_alerts_cover_what_operations_must_watch_and_use_real_metrics():
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    names = {r["alert"] for r in rules}
    assert {"PgteamsHighFailureRate", "PgteamsQueueBacklog", "PgteamsUnacknowledgedCritical",
            "PgteamsRowsInDefaultPartition"} <= names
    exported = _exported_names()
    for rule in rules:
        used = _metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} uses metrics the runner does not export: {used - exported}"


def test_dashboard_is_valid_json_over_exported_metrics():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and dash["panels"]
    exported = _exported_names()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dash["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = _metric_names(target["expr"])
            assert used and used <= exported, f"{panel['title']}: {used - exported}"
