"""Run every sql/tests/*.sql pgTAP file through pg_prove, one pytest test per file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

PGTAP_FILES = sorted((ROOT / "sql" / "tests").glob("*.sql"))


def test_pgtap_files_exist():
    assert PGTAP_FILES, "no pgTAP files found in sql/tests"
    assert any(p.name == "schema_lint.sql" for p in PGTAP_FILES)


@pytest.mark.parametrize("path", PGTAP_FILES, ids=[p.stem for p in PGTAP_FILES])
def test_pgtap(cluster, dbname, path: Path):
    pg_prove = shutil.which("pg_prove")
    assert pg_prove, "pg_prove is not installed (scripts/install-deps.sh installs it)"
    proc = subprocess.run(
        [pg_prove, "--verbose", "--failures", "-h", "127.0.0.1", "-p", str(cluster.port),
         "-U", "postgres", "-d", dbname, str(path)],
        capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"pg_prove failed for {path.name}:\n{output}"
    assert "Result: PASS" in output, output
