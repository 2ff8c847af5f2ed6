# The two commands: `make run` serves the platform on the embedded Neo4j; `make test` runs the tests.
# Both install what they need first (a virtualenv from pyproject.toml, the Neo4j launcher via Maven).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test schema neo4j bench-ingest bench-check bench-federation clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

neo4j: install
	$(BIN)/fenghuo neo4j build

run: neo4j
	$(BIN)/fenghuo serve

test: neo4j
	$(BIN)/pytest $(PYTEST_ARGS)

schema: install
	$(BIN)/fenghuo schema > schema.graphql

bench-ingest: neo4j
	$(BIN)/python bench/ingest.py

bench-check: neo4j  # checks as run (issue 14): wrk (apt-get installs it), py-spy from the [bench] extra
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/check.py

bench-federation: neo4j  # federation (issue 12): 5 peer nodes behind delay proxies
	$(BIN)/python bench/federation.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
