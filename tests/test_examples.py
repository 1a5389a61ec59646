"""The runnable examples run as a user would run them, and tell the story they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("mode", ["embedded", "dsn"])
def test_psa_host_end_to_end(mode, request):
    args = [sys.executable, str(ROOT / "examples" / "psa_host.py")]
    if mode == "dsn":
        args += ["--dsn", request.getfixturevalue("dsn")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGTEAMS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "runner"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    lines = out.splitlines()
    assert lines[0].startswith("psa_host: ") and "pgteams serve on http://127.0.0.1:" in lines[0]
    assert re.search(r"^2\. Teams posted installationUpdate \+ message \(signed\): serve answered 200, reference active$",
                     out, re.M), out
    assert re.search(r"^3\. a business transaction rolled back: deliveries queued for it: 0$", out, re.M), out
    queued = re.search(r"^4\. business transaction committed: ticket (T-\d+) escalated, delivery (\d+) queued$", out, re.M)
    assert queued, out
    delivery = queued.group(2)
    assert re.search(r"^5\. runner sent it: POST /bot/amer/v3/conversations/a:1[0-9a-f]+/activities -> 201$", out, re.M), out
    assert re.search(r"^6\. Ada Lovelace pressed Acknowledge: serve answered 200 \(application/vnd\.microsoft\.card\.adaptive\)"
                     r" with the card \"✔ Acknowledged by Ada Lovelace\"$", out, re.M), out
    assert re.search(rf"^7\. the story of delivery {delivery} \(msteams\.get_delivery\):$", out, re.M), out
    story = [line for line in lines if line.startswith("   attempt ")]
    assert len(story) == 1 and re.match(r"   attempt 1  sent  http 201  final=True  .*response acknowledge at ",
                                        story[0]), story
    audit = [line for line in lines if line.startswith("   audit event ")]
    assert len(audit) == 1 and re.match(
        rf"   audit event \d+: acknowledge by 6f1c2a9e-0000-4000-8000-00000000ada1 on delivery {delivery} via bot, "
        r"success, activity f:\d+, payload_hash [0-9a-f]{16}…$", audit[0]), audit
    # the bot secret and the inbound tokens never reach the output
    assert "Bearer" not in out + proc.stderr and "eyJ" not in out + proc.stderr


# ------------------------------------------------------------------- the host guide's SQL
def _sql_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sql\n(.*?)^```", markdown, re.M | re.S)


def _role_of(block: str) -> str:
    first = block.splitlines()[0]
    m = re.match(r"-- as (psa_\w+)", first)
    return m.group(1) if m else "postgres"


def test_the_host_guide_sql_runs_as_written(tmp_path):
    """Every ```sql block of docs/host-guide.md, in order, through psql, as the login its first line
    names, on a fresh cluster (the guide creates roles). Between blocks, only what the guide says
    happened: the runner sends delivery 1 before the card-action block."""
    from pgteams.ops.embedded import EmbeddedPostgres
    from pgteams.ops.migrate import migrate
    import psycopg

    blocks = _sql_blocks((ROOT / "docs" / "host-guide.md").read_text())
    assert len(blocks) >= 7
    with EmbeddedPostgres() as pg:
        migrate(pg.dsn("postgres"))
        psql = os.path.join(pg.bindir, "psql")
        outputs = []
        for i, block in enumerate(blocks):
            role = _role_of(block)
            if "msteams.record_response(" in block:       # "after pgteams run has sent delivery 1"
                with psycopg.connect(pg.dsn("postgres", "psa_runner"), autocommit=True) as runner:
                    claimed = runner.execute("SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries('doc', 10)").fetchall()
                    assert [d for _, d, _ in claimed] == [1]
                    t, d, lease = claimed[0]
                    runner.execute("SELECT msteams.complete_delivery('doc', %s, %s, %s, 'sent', 201)", (t, d, lease))
            script = tmp_path / f"block{i}.sql"
            script.write_text(block)
            proc = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
                                   "-U", role, "-d", "postgres", "-f", str(script)],
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"block {i} as {role}:\n{block}\n{proc.stdout}{proc.stderr}"
            outputs.append(proc.stdout)
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as db:
            ledger = db.execute("""SELECT internal_notification_id, status, response_action, responded_by
                                     FROM msteams.notification_deliveries""").fetchall()
            assert ledger == [("T-1042-escalated", "sent", "acknowledge", "6f1c2a9e-0000-4000-8000-00000000ada1")]
            assert db.execute("SELECT count(*) FROM msteams.outbox").fetchone()[0] == 0     # the rollback left nothing
            assert db.execute("SELECT status FROM psa.tickets").fetchall() == [("escalated",)]
            assert db.execute("SELECT action_id, activity_id FROM msteams.audit_events").fetchall() == \
                [("acknowledge", "f:8765")]
            assert db.execute("SELECT status FROM msteams.conversation_references").fetchall() == [("active",)]
    # the last block is "did it go out?": one attempt, sent, final, acknowledged
    rows = [line for line in outputs[-1].splitlines() if re.match(r"\s*1 \|", line)]
    assert len(rows) == 1, outputs[-1]
    cells = [c.strip() for c in rows[0].split("|")]
    assert (cells[0], cells[1], cells[2], cells[3], cells[4], cells[9]) == ("1", "1", "sent", "t", "201", "acknowledge")
