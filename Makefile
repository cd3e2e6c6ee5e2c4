# The README's two commands: `make run` (set up, then serve on the embedded defaults) and `make test`
# (a fresh virtual environment every time, lint and types, then the suite on SQLite and on PostgreSQL).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test fresh-venv test-tools lint postgres

run: $(VENV)/.installed
	$(BIN)/tracebook serve

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# CI reuses the machine: a stale environment could hide a missing dependency, so tests always start clean.
fresh-venv:
	rm -rf $(VENV)
	$(MAKE) --no-print-directory $(VENV)/.installed

# The browser tests' tools: Debian's Chromium, which Playwright drives (Playwright's own browser download is
# not used), and the npm packages in package.json (axe-core), rebuilt from the lock file on every run like .venv.
test-tools:
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	rm -rf node_modules
	npm ci --no-audit --no-fund

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@pg_isready -h 127.0.0.1 -p 5432

test: fresh-venv test-tools lint postgres
	$(BIN)/pytest
	TRACEBOOK_TEST_DATABASE=postgresql $(BIN)/pytest tests/functional
