#!/usr/bin/env bash
# Install everything pgteams needs to run its demo, tests and benchmarks on Debian 12:
# PostgreSQL 15 server binaries, pgTAP, pg_prove, pg_isolation_regress, promtool, and the
# Python virtual environment (.venv) with the package and its test extras.
# Safe to run again: a second run checks, finds everything present, and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_MAJOR=15
apt_packages=(
  "postgresql-${PG_MAJOR}"                   # initdb, postgres, pg_ctl, pg_dump (not started: see below)
  "postgresql-client-${PG_MAJOR}"            # psql, pg_isolation_regress
  "postgresql-${PG_MAJOR}-pgtap"             # pgTAP, only ever loaded in test databases
  "libtap-parser-sourcehandler-pgtap-perl"   # pg_prove
  "prometheus"                               # promtool, to check deploy/alerts.yml
  "python3-venv"
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  # Never let the package create (or start) a default cluster: pgteams starts its own.
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The prometheus package would start a server through its init script; we only want promtool.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.pgteams-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
fi
touch "$stamp"
echo "install-deps: ready (PostgreSQL $("/usr/lib/postgresql/${PG_MAJOR}/bin/postgres" --version | awk '{print $3}'), $(.venv/bin/python --version))"
