# Two commands for a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: run test lint typecheck pytest migrate demo bench reconcile clean

# The virtualenv is rebuilt whenever a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## make run: install, migrate, seed the demo, then web + Celery worker + beat until Ctrl-C.
run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)  Ctrl-C stops everything."
	WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

## make test: lint, type-check and run every test (DATABASE_URL / CELERY_BROKER_URL choose the servers).
test: $(BIN)/.installed lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

bench: $(BIN)/.installed
	$(BIN)/python manage.py bench ledger

## make bench-api: load-test the API (gunicorn + locust on a seeded PostgreSQL database; needs PostgreSQL, Redis).
.PHONY: bench-api
bench-api: $(BIN)/.installed
	bash benchmarks/api_load.sh

## make test-browser: only the real-browser journeys (needs Debian's chromium: apt-get install chromium).
.PHONY: test-browser
test-browser: $(BIN)/.installed
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest tests/browser -rs

reconcile: $(BIN)/.installed
	$(BIN)/python manage.py reconcile

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
