#!/usr/bin/env bash
# citus-check.sh DSN: install pgteams into a Citus database, distribute it, run the pgTAP suite.
#
# DSN names an empty database on a Citus coordinator where `CREATE EXTENSION citus` has been run
# and the nodes are added (a single node works: citus_set_coordinator_host(...) plus
# citus_set_node_property(..., 'shouldhaveshards', true)). The role in the DSN must be a superuser
# (distribute.sql calls the Citus UDFs; pgTAP is created if missing). Citus itself is not part of
# this repository: see docs/scaling.md for how it was built and what the last run gave.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 DSN   (a database on a Citus coordinator)" >&2
    exit 2
fi
DSN=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in "$ROOT/.venv/bin/python" /tmp/v/bin/python python3; do
        if command -v "$candidate" >/dev/null 2>&1; then PY=$candidate; break; fi
    done
fi
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

"$PSQL" "$DSN" -X -qAt -v ON_ERROR_STOP=1 -c "SELECT 'citus ' || extversion FROM pg_extension WHERE extname = 'citus'" \
    | grep -q citus || { echo "citus-check: the citus extension is not installed in that database" >&2; exit 1; }

echo "== migrate"
PYTHONPATH="$ROOT/runner" "$PY" -m pgteams.cli migrate --dsn "$DSN"
echo "== distribute"
"$PSQL" "$DSN" -X -q -v ON_ERROR_STOP=1 -f "$ROOT/sql/citus/distribute.sql"
"$PSQL" "$DSN" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS pgtap"
echo "== pgTAP (sql/tests/*.sql)"
# pg_prove hands --dbname to psql, which accepts a whole connection string there.
pg_prove --verbose --failures --dbname "$DSN" "$ROOT"/sql/tests/*.sql
