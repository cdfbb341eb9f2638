# Set-up contract: `make run` serves the demo on http://127.0.0.1:8000 (HOST and PORT change it), `make test` runs the
# whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails and calendar files point where the service listens, unless BASE_URL says otherwise.
export BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint bench install messages db demo clean stress audit

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

# Compiled catalogues are built here, never committed: the .po files are the source, and compiling takes a second.
# axe-core (the browser tests' accessibility checker) comes from npm when node is present; without it those tests skip.
install: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d translations
	@if command -v npm >/dev/null 2>&1; then \
		[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error \
			|| echo "npm ci failed (offline?): the axe-core accessibility checks will be skipped"; \
	else echo "npm not found: the axe-core accessibility checks will be skipped"; fi

# After changing user-visible text: re-extract it, merge it into the catalogues, then translate what is new.
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k _lp:1c,2 -k lazy_ngettext:1,2 \
		--no-location --sort-output --project "TA Matchmaker" --copyright-holder "TA Matchmaker contributors" -o translations/messages.pot . >/dev/null
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --no-fuzzy-matching

db: install
	$(FLASK) db upgrade
	$(FLASK) load-reference

demo: db
	$(FLASK) seed-demo
	@$(FLASK) demo-accounts

run: demo
	$(VENV)/bin/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

# The whole suite on SQLite; on PostgreSQL too when TEST_DATABASE_URL is set (without the engine's tests and the
# browser's page-by-page rendering and accessibility checks: they read no database of their own kind and take minutes).
# The two passes share nothing (own database, own temporary folder, free ports), so they run side by side on the two
# cores; the PostgreSQL pass's report is printed after the SQLite one's, and either failing fails the target.
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
test: install
	@tmp=$$(mktemp -d); pg=; \
	if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== SQLite, and PostgreSQL ($$TEST_DATABASE_URL) side by side; its report follows =="; \
		MATCHMAKER_TEST_DB="$$TEST_DATABASE_URL" $(PYTEST) --basetemp="$$tmp/pg" --ignore=tests/engine \
			--ignore=tests/e2e/test_pages.py --ignore=tests/e2e/test_accessibility.py $(PYTEST_ARGS) \
			> "$$tmp/pg.log" 2>&1 & pg=$$!; \
	fi; \
	$(PYTEST) --basetemp="$$tmp/sqlite" $(PYTEST_ARGS); sqlite=$$?; pgstatus=0; \
	if [ -n "$$pg" ]; then wait $$pg; pgstatus=$$?; echo "== PostgreSQL ($$TEST_DATABASE_URL) =="; \
		cat "$$tmp/pg.log"; fi; \
	rm -rf "$$tmp"; \
	[ $$sqlite -eq 0 ] && [ $$pgstatus -eq 0 ]

# Lint: ruff with the rules pyproject.toml selects (pycodestyle, pyflakes, bugbear, isort, pyupgrade, complexity,
# security) over the whole tree.
lint: install
	$(VENV)/bin/ruff check .

# Load (locust, 40 users, 60 s), crashes (kill -9 workers every second and the master once) and long fuzzing
# (1,000 inputs per form and API operation, the heavy hostile files): on SQLite, then on PostgreSQL when
# TEST_DATABASE_URL is set. Bounded runs: STRESS_USERS, STRESS_LOAD_SECONDS, STRESS_KILL_SECONDS, FUZZ_EXAMPLES.
$(VENV)/.stress-installed: requirements-stress.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-stress.txt
	touch $@

stress: install $(VENV)/.stress-installed
	$(PY) -m stress
	@if [ -n "$$TEST_DATABASE_URL" ]; then STRESS_DATABASE_URL="$$TEST_DATABASE_URL" $(PY) -m stress; fi
	CONCURRENT_CLIENTS=$${CONCURRENT_CLIENTS:-16} CONCURRENT_WRITES=$${CONCURRENT_WRITES:-50} \
		$(PY) -m pytest -q -p no:cacheprovider tests/test_concurrent_writes.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then CONCURRENT_CLIENTS=$${CONCURRENT_CLIENTS:-16} \
		CONCURRENT_WRITES=$${CONCURRENT_WRITES:-50} MATCHMAKER_TEST_DB="$$TEST_DATABASE_URL" \
		$(PY) -m pytest -q -p no:cacheprovider tests/test_concurrent_writes.py; fi

# Static analysis (ruff's security rules, bandit; findings reviewed in place), the installed packages against the
# vulnerability databases that can be reached (pip-audit: PyPI's data, OSV; one that cannot be reached is said so and
# fails nothing), and an SBOM of the environment.
audit: install $(VENV)/.stress-installed
	$(VENV)/bin/ruff check matchmaker config.py wsgi.py stress
	$(VENV)/bin/bandit -q -r matchmaker config.py wsgi.py stress
	$(PY) -m stress.deps
	mkdir -p test-artifacts
	$(VENV)/bin/cyclonedx-py environment --of JSON -o test-artifacts/sbom.cdx.json $(PY)
	@echo "SBOM: test-artifacts/sbom.cdx.json"

bench: install
	$(PIP) install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks
	$(PY) -m benchmarks.matching
	$(PY) -m benchmarks.first_page
	$(PY) -m benchmarks.imports
	$(PY) -m benchmarks.signin

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules test-artifacts
