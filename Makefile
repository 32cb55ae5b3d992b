# One entry point for people and CI. Every target installs what it needs first (fresh-machine rule).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The local Dagster instance for demo/dev (run history, schedules, sensors), configured by dagster.local.yaml
# (not named dagster.yaml: Dagster warns about a dagster.yaml beside a DAGSTER_HOME elsewhere). Tests use their own.
DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# The UI's port (make dev DEV_PORT=3001 when 3000 is taken).
DEV_PORT ?= 3000

.PHONY: install demo import-history dev test test-postgres test-iam lint validate snapshot defs browser-deps postgres-deps bench clean

$(STAMP): pyproject.toml requirements.lock setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml

## make demo: today's partition end to end against the bundled emulator, then a summary.
demo: install $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/python -m spotify_assets.commands.demo

## make import-history EXPORT=<zip, folder or s3:// URI>: import a Spotify data export (streams, listens)
## through Dagster, on the same lake, DuckDB file and Dagster instance as make demo.
import-history: install $(DAGSTER_HOME)/dagster.yaml
	@test -n "$(EXPORT)" || { echo "usage: make import-history EXPORT=path/to/my_spotify_data.zip (or its folder, or s3://bucket/key)" >&2; exit 2; }
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/python -m spotify_assets.commands.import_history "$(EXPORT)"

## make dev: the Dagster UI on http://127.0.0.1:3000 with the daemon (schedules, sensors, run retries), over
## the instance of make demo. `dg dev` loads the dg project (pyproject.toml) with the project's .venv.
dev: install $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev -h 127.0.0.1 -p $(DEV_PORT)

## Chromium from Debian for the browser test (no browser download at run time).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## PostgreSQL server from Debian for the `postgres` tests (each test runs its own server: initdb + pg_ctl
## in a temporary directory on 127.0.0.1, stopped afterwards). No default cluster or service is created.
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO mkdir -p /etc/postgresql-common/createcluster.d && \
	  echo 'create_main_cluster = false' | $$SUDO tee /etc/postgresql-common/createcluster.d/spotify-assets-tests.conf >/dev/null && \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check spotify_assets spotify_assets_tests benchmarks

## make snapshot: regenerate spotify_assets_tests/definitions_snapshot.json (every asset, check, job, schedule
## and sensor, default settings) after an intended change to the definitions; review and commit the diff
snapshot: install
	env -u DAGSTER_HOME $$(env | grep -o '^SPOTIFY_[A-Z0-9_]*' | sed 's/^/-u /') $(BIN)/python -m spotify_assets_tests.definitions_snapshot --write

## the definitions load, the way `dg` loads the project (defs/ folder) and the way a code server does
validate: install
	env -u DAGSTER_HOME VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	env -u DAGSTER_HOME $(BIN)/dagster definitions validate -m spotify_assets.definitions

## make defs: every asset, check, job, schedule, sensor and resource of the project, one row each (key, group,
## cron: 71 columns wide, readable piped; `dg list defs --columns key,description` adds the long descriptions)
defs: install
	@env -u DAGSTER_HOME VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg list defs --columns key,group,cron

## make test: the whole suite (CI calls this through .ci/run).
test: install browser-deps postgres-deps lint validate
	env -u DAGSTER_HOME $(BIN)/pytest

## make test-postgres: the deployment on a real PostgreSQL (image command, daemon, daily_job); ~40 s
test-postgres: install postgres-deps
	env -u DAGSTER_HOME $(BIN)/pytest -m postgres

## make test-iam: record every AWS action of a full AWS-path run (moto) and check deploy/iam-policy.json;
## a failure lists what is MISSING from the policy and what in it is UNUSED
test-iam: install
	env -u DAGSTER_HOME $(BIN)/pytest -m iam

bench: install
	$(BIN)/python benchmarks/bench_extract.py
	$(BIN)/python benchmarks/bench_transform.py
	$(BIN)/python benchmarks/bench_query.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf data .pytest_cache .ruff_cache

.PHONY: package package-check

## make package: the serverless transform's artifacts — build/lambda/ (container image context of the
## Lambda function) and build/glue/ (job script, wheel, job arguments). See docs/serverless.md.
package: install
	$(BIN)/python deploy/package_serverless.py

## make package-check: package, then install the pinned runtime modules as Lambda/Glue will and smoke-test
## the entry points with nothing else on the path (downloads wheels).
package-check: install
	$(BIN)/python deploy/package_serverless.py --check
