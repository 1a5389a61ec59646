"""Prometheus metrics of one runner (prometheus-client), on their own registry.

Served at /metrics when the runner is started with --metrics-port (PGTEAMS_METRICS_PORT).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .classify import Outcome

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.attempts = Counter("pgteams_attempts", "Send attempts by transport, status and error code",
                                ["transport", "status", "error_code"], registry=r)
        self.send_seconds = Histogram("pgteams_send_seconds", "Time of one HTTP send to Microsoft",
                                      ["transport"], buckets=LATENCY_BUCKETS, registry=r)
        self.outcomes = Counter("pgteams_reported", "Outcomes recorded by complete_deliveries, by verdict",
                                ["outcome"], registry=r)
        self.tokens = Counter("pgteams_token_requests", "Token requests by source: memory and cache are hits, "
                              "identity_provider is a miss", ["source"], registry=r)
        self.throttle_waits = Histogram("pgteams_throttle_wait_seconds", "Time a send waited for its throttle slot",
                                        buckets=(0, 0.05, 0.1, 0.25, 0.5, 1, 2), registry=r)
        self.throttle_deferrals = Counter("pgteams_throttle_deferred", "Deliveries given back to the outbox "
                                          "until their throttle slot", registry=r)
        self.lease_reclaims = Counter("pgteams_lease_reclaims", "Deliveries claimed after another lease expired",
                                      registry=r)
        self.db_errors = Counter("pgteams_db_errors", "Database calls that failed (and were retried)",
                                 ["operation"], registry=r)
        self.queue_depth = Gauge("pgteams_queue_depth", "Deliveries in the outbox by state", ["state"], registry=r)
        self.queue_oldest_due = Gauge("pgteams_queue_oldest_due_seconds", "Age of the oldest due delivery", registry=r)
        self.unacknowledged = Gauge("pgteams_unacknowledged_critical", "Critical/high deliveries sent in the last "
                                    "7 days without a response", registry=r)
        self.unacknowledged_oldest = Gauge("pgteams_unacknowledged_critical_oldest_seconds",
                                           "Age of the oldest unacknowledged critical/high delivery", registry=r)
        self.default_partition_rows = Gauge("pgteams_default_partition_rows", "Rows in a default partition "
                                            "(should be 0)", ["table"], registry=r)
        self.dead_letters = Gauge("pgteams_dead_letters", "Deliveries ended failed or skipped, kept for retry",
                                  registry=r)
        self.throttle_pauses = Gauge("pgteams_throttle_pauses_active", "Scopes Microsoft has paused with a "
                                     "Retry-After", registry=r)
        self.runners = Gauge("pgteams_runners_live", "Runners sharing the rate budgets", registry=r)

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        start_http_server(port, addr=addr, registry=self.registry)

    def attempt(self, transport: str, outcome: Outcome, seconds: float) -> None:
        self.attempts.labels(transport, outcome.status, outcome.error_code or "").inc()
        self.send_seconds.labels(transport).observe(seconds)

    def reported(self, verdict: str) -> None:
        self.outcomes.labels(verdict).inc()

    def token(self, source: str) -> None:
        self.tokens.labels(source).inc()

    def throttle_wait(self, seconds: float) -> None:
        self.throttle_waits.observe(seconds)

    def throttle_deferred(self, n: int) -> None:
        self.throttle_deferrals.inc(n)

    def lease_reclaimed(self) -> None:
        self.lease_reclaims.inc()

    def db_error(self, operation: str) -> None:
        self.db_errors.labels(operation).inc()

    def database_gauges(self, rows: list[dict]) -> None:
        """Set the gauges from msteams.runner_metrics()."""
        for row in rows:
            metric, label, value = row["metric"], row["label"], float(row["value"] or 0)
            if metric == "queue_depth":
                self.queue_depth.labels(label).set(value)
            elif metric == "queue_oldest_due_seconds":
                self.queue_oldest_due.set(value)
            elif metric == "unacknowledged_critical":
                self.unacknowledged.set(value)
            elif metric == "unacknowledged_critical_oldest_seconds":
                self.unacknowledged_oldest.set(value)
            elif metric == "default_partition_rows":
                self.default_partition_rows.labels(label).set(value)
            elif metric == "dead_letters":
                self.dead_letters.set(value)
            elif metric == "throttle_pauses_active":
                self.throttle_pauses.set(value)
