# The README's two commands: `make run` (set up, then serve on the embedded defaults) and `make test`
# (a fresh virtual environment every time, lint and types, then the suite on SQLite and on PostgreSQL).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Ralph, the Learning Record Store the xAPI tests deliver to (tests/lrs.py starts it), in an environment of its
# own: its pinned dependencies (pydantic, fastapi) must not decide ours. Its `lrs` extra misses requests.
RALPH_VENV ?= .venv-ralph
RALPH ?= ralph-malph[lrs,cli]==5.1.0

.PHONY: run test fresh-venv test-tools ralph lint postgres

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

# The tests' tools: Debian's Chromium, which Playwright drives (Playwright's own browser download is not used),
# poppler-utils and zbar-tools, which read certificate PDFs back (text, page size, the QR code on the rendered
# page), and the npm packages in package.json (axe-core …), rebuilt from the lock file on every run like .venv.
test-tools:
	@test -x /usr/bin/chromium -a -x /usr/bin/pdftotext -a -x /usr/bin/zbarimg || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium poppler-utils zbar-tools; }
	rm -rf node_modules
	npm ci --no-audit --no-fund

ralph: $(RALPH_VENV)/.installed

$(RALPH_VENV)/.installed: Makefile
	rm -rf $(RALPH_VENV)
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install --quiet --disable-pip-version-check '$(RALPH)' requests
	touch $@

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@pg_isready -h 127.0.0.1 -p 5432

test: fresh-venv test-tools ralph lint postgres
	$(BIN)/pytest
	TRACEBOOK_TEST_DATABASE=postgresql $(BIN)/pytest tests/functional
