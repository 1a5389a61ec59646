"""The sandbox in its own process, driven over its HTTP control interface, for benchmarks.

In the same process as the runner the two would share one interpreter lock, and the sandbox's
arrival times — the clock Microsoft's limits are counted on — would carry the runner's pauses.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
from types import SimpleNamespace

import httpx

from _common import ROOT
from pgteams.runner.config import Settings  # noqa: E402  (_common puts runner/ on the path)


class SandboxProcess:
    def __init__(self, enforce_limits: bool = True) -> None:
        self._dir = tempfile.mkdtemp(prefix="pgteams-bench-sandbox-")
        args = [sys.executable, "-m", "pgteams.cli", "sandbox", "--port", "0", "--state-dir", self._dir]
        if not enforce_limits:
            args.append("--no-limits")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "runner")}
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        self.pid = self._proc.pid
        info = json.loads(self._proc.stdout.readline())
        self.url, self.ca_file = info["sandbox"], info["ca_file"]
        self._http = httpx.Client(base_url=f"{self.url}/_sandbox", verify=ssl.create_default_context(cafile=self.ca_file),
                                  timeout=60)

    def _post(self, path: str, body: dict | None = None) -> dict:
        r = self._http.post(path, json=body or {})
        r.raise_for_status()
        return r.json() if r.content else {}

    def add_tenant(self, aad_tenant_id: str, **kw) -> None:
        self._post("/tenants", {"aad_tenant_id": aad_tenant_id, **kw})

    def load(self, config: dict) -> None:
        """Many users/conversations/webhooks at once (the --config format)."""
        self._post("/config", config)

    def add_conversation(self, aad_tenant_id: str, conversation_id: str, bot_app_ids: list[str]) -> str:
        return self._post("/conversations", {"aad_tenant_id": aad_tenant_id, "conversation_id": conversation_id,
                                             "bot_app_ids": bot_app_ids})["service_url"]

    def add_webhook(self, aad_tenant_id: str) -> str:
        return self._post("/webhooks", {"aad_tenant_id": aad_tenant_id})["url"]

    def reset_limits(self) -> None:
        self._post("/limits", {"reset": True})

    def reset_records(self) -> None:
        self._http.delete("/requests").raise_for_status()

    def requests(self, kinds=("graph", "bot", "webhook")) -> list[SimpleNamespace]:
        out, since = [], 0
        while True:
            r = self._http.get("/requests", params={"since": since, "limit": 10000})
            r.raise_for_status()
            page = r.json()
            out += [SimpleNamespace(**x) for x in page["requests"] if x["kind"] in kinds]
            if not page["requests"] or page["last_seq"] == since:
                return out
            since = page["last_seq"]

    def runner_settings(self, dsn: str, **overrides) -> Settings:
        return Settings.for_sandbox(dsn, self.url, self.ca_file, **overrides)

    def stop(self) -> None:
        self._http.close()
        self._proc.send_signal(signal.SIGTERM)
        self._proc.wait(30)

    def __enter__(self) -> "SandboxProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
