"""Run the isolation specs (sql/tests/specs/*.spec) with pg_isolation_regress against committed output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

SPEC_DIR = ROOT / "sql" / "tests" / "specs"
SPECS = sorted(SPEC_DIR.glob("*.spec"))


def _pg_isolation_regress(bindir: Path) -> Path:
    for candidate in (bindir / "pg_isolation_regress",
                      bindir.parent / "lib" / "pgxs" / "src" / "test" / "isolation" / "pg_isolation_regress"):
        if candidate.exists():
            return candidate
    raise AssertionError(f"pg_isolation_regress not found near {bindir}")


def test_every_spec_has_expected_output():
    assert SPECS, "no isolation specs found"
    for spec in SPECS:
        assert (ROOT / "sql" / "tests" / "expected" / f"{spec.stem}.out").exists(), spec.name


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_isolation_spec(cluster, dbname, spec: Path, tmp_path: Path):
    tool = _pg_isolation_regress(cluster.bindir)
    proc = subprocess.run(
        [str(tool), "--use-existing", "--host=127.0.0.1", f"--port={cluster.port}", "--user=postgres",
         f"--dbname={dbname}", f"--inputdir={ROOT / 'sql' / 'tests'}", f"--outputdir={tmp_path}",
         f"--bindir={cluster.bindir}", spec.stem],
        capture_output=True, text=True, timeout=300,
    )
    diffs = tmp_path / "regression.diffs"
    detail = diffs.read_text() if diffs.exists() else ""
    assert proc.returncode == 0, f"{spec.name} differs from expected output:\n{proc.stdout}\n{detail}"
