# The two commands a newcomer needs: `make run` (start it) and `make test` (test it).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
# Stops and restarts the PostgreSQL cluster: never in the middle of a run that shares it.
OUTAGE_TEST := tests/test_faults_database_down.py::test_postgres_stopped_under_load_answers_503_then_recovers_by_itself

.PHONY: run test test-sqlite test-postgres test-postgres-outage lint schema bench clean

$(BIN)/partner-api: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

## Set up, migrate, seed the demo data on first run (prints the admin login), serve on :8000.
run: $(BIN)/partner-api
	$(BIN)/partner-api migrate
	$(BIN)/partner-api seed-demo
	$(BIN)/partner-api serve --host 127.0.0.1 --port 8000

## Set up and run everything CI runs: lint, types, the suite on SQLite and on PostgreSQL, then
## (alone, once the suite is done with the cluster) the PostgreSQL outage test.
test: lint test-sqlite test-postgres
	$(MAKE) test-postgres-outage

lint: $(BIN)/partner-api
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# The automation recipe's script lives in docs/, outside the packages: checked on its own.
	$(BIN)/mypy docs/examples/rotate_credential.py
	$(BIN)/lint-imports

test-sqlite: $(BIN)/partner-api
	$(BIN)/pytest

test-postgres: $(BIN)/partner-api
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest --deselect $(OUTAGE_TEST)

test-postgres-outage: $(BIN)/partner-api
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(OUTAGE_TEST)

## Regenerate graphql/schema.graphql after changing the schema (a test fails when it drifts).
schema: $(BIN)/partner-api
	$(BIN)/python -c 'from pathlib import Path; from schema.root import schema; Path("graphql/schema.graphql").write_text(schema.as_str() + "\n")'

## Every benchmark in one run (needs wrk; ~15 min; BENCH_ARGS=--quick for a smoke run): results in
## var/bench/results.json, plots in docs/benchmarks/; see docs/benchmarks.md.
bench: $(BIN)/partner-api
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
