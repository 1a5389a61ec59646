# pgteams — the two commands of the README, and the rest of the developer loop.
#   make demo    the main job on an embedded default (throw-away PostgreSQL + the Microsoft sandbox)
#   make test    the whole test suite (pytest: pgTAP files, isolation specs, runner, sandbox, CLI)
# Both install what they need first (scripts/install-deps.sh; as root on Debian 12 it apt-installs
# PostgreSQL 15, pgTAP, pg_prove and promtool; a second run changes nothing).

VENV  := .venv
STAMP := $(VENV)/.pgteams-installed

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-deps.sh
	bash scripts/install-deps.sh

demo: $(STAMP)
	$(VENV)/bin/pgteams demo

test: $(STAMP)
	$(VENV)/bin/pytest

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(VENV)/bin/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis runner/*.egg-info
