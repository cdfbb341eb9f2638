# Set-up contract: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi.py

.PHONY: run test bench install db demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

db: install
	$(FLASK) db upgrade
	$(FLASK) load-reference

demo: db
	$(FLASK) seed-demo

run: demo
	@$(FLASK) demo-accounts
	$(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:8000 --access-logfile - wsgi:app

# The whole suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set.
test: install
	$(PY) -m pytest -q -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		MATCHMAKER_TEST_DB="$$TEST_DATABASE_URL" $(PY) -m pytest -q -p no:cacheprovider --ignore=tests/engine; \
	fi

bench: install
	$(PIP) install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache
