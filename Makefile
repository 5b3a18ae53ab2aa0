# geoapp: the two commands are `make run` and `make test` (both call `make setup`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_PY := $(VENV)/.installed
STAMP_JS := geoapp/static/vendor/.installed
MO := geoapp/translations/uk/LC_MESSAGES/messages.mo
DB = DATABASE_URL=$$(scripts/database-url.sh) REDIS_URL=$$(scripts/redis-url.sh)

.PHONY: setup run test lint bench system translations clean audit

setup: system $(STAMP_PY) $(STAMP_JS) $(MO)

system:
	@scripts/system-packages.sh

$(STAMP_PY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(STAMP_JS): package.json scripts/vendor-assets.sh
	scripts/vendor-assets.sh
	touch $@

$(MO): geoapp/translations/uk/LC_MESSAGES/messages.po $(STAMP_PY)
	$(BIN)/pybabel compile --use-fuzzy -d geoapp/translations

translations: $(STAMP_PY)  ## re-extract strings into the .po catalogue after changing templates
	$(BIN)/pybabel extract -F babel.cfg -k _l -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d geoapp/translations --width 100

# GEOAPP_LOCAL_DEV=1: plain-http cookies; the secret key is made once in var/secret_key (mode 600).
# `geoapp serve --job-worker` runs gunicorn and the job worker (imports) together and stops
# both on Ctrl-C; jobs, limits and caches use the Redis answering locally.
run: setup
	export $(DB) GEOAPP_LOCAL_DEV=1 \
	  && $(BIN)/geoapp db upgrade && $(BIN)/geoapp boundaries pilot \
	  && $(BIN)/geoapp demo --scale 20000 \
	  && $(BIN)/geoapp serve --host 127.0.0.1 --port 5000 --job-worker

test: setup audit
	$(BIN)/ruff check .
	export $(DB) && $(BIN)/pytest

audit: setup  ## fixable known vulnerabilities (pip-audit, npm audit) fail; no network only warns
	$(BIN)/python scripts/audit_deps.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/pip install --quiet -e '.[dev,bench]'  # tipg, the tiles benchmark's anchor
	export $(DB) && $(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules geoapp/static/vendor var
