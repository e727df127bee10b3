# The two commands the README promises, plus helpers. Everything installs from
# this repository's own files (pyproject extras), so a fresh machine needs only
# Python 3.9+ and the package index.

PYTHON ?= python3
DEMO := .demo
TESTENV := .venv
PYTEST_ARGS ?= -q

.PHONY: demo test test-all test-versions lint format docs bench attribute clean

## demo: fresh venv, install autotelemetry + the example CLI, run it instrumented, print the report
demo:
	rm -rf $(DEMO)
	$(PYTHON) -m venv $(DEMO)/venv
	$(DEMO)/venv/bin/pip install -q --disable-pip-version-check . ./examples/exampleclick
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/autotelemetry allow exampleclick
	@echo "--- running the example CLI (output is exactly its own) ---"
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/exampleclick --verbose db migrate --dry-run prod
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/exampleclick db m --to 42 staging
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/exampleclick db status
	-AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/exampleclick db nosuch
	-AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/exampleclick fail
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/autotelemetry run exampleclick pipeline resize --width 3 save
	@echo "--- autotelemetry events ---"
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/autotelemetry events
	@echo "--- autotelemetry report ---"
	AUTOTELEMETRY_HOME=$(CURDIR)/$(DEMO)/home $(DEMO)/venv/bin/autotelemetry report

$(TESTENV)/ready: pyproject.toml
	$(PYTHON) -m venv $(TESTENV)
	$(TESTENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

## test: set up the test environment, lint (ruff, mypy) and run the whole suite
test: lint
	$(TESTENV)/bin/python -m pytest $(PYTEST_ARGS)

## test-all: the suite against every supported Python found through pyenv
VERSIONS ?= 3.9 3.10 3.11 3.12 3.13
test-all: test-versions
test-versions: $(TESTENV)/ready
	for v in $(VERSIONS); do \
	  py=$$(pyenv prefix $$v 2>/dev/null)/bin/python; \
	  [ -x "$$py" ] || { echo "skip $$v (not installed)"; continue; }; \
	  echo "=== Python $$v ==="; \
	  AUTOTELEMETRY_TEST_PYTHON=$$py $(TESTENV)/bin/python -m pytest $(PYTEST_ARGS) || exit 1; \
	done

lint: $(TESTENV)/ready
	$(TESTENV)/bin/ruff check autotelemetry tests benchmarks hatch_build.py
	$(TESTENV)/bin/ruff format --check autotelemetry tests benchmarks hatch_build.py
	$(TESTENV)/bin/mypy

## docs: regenerate the option tables in docs/ from autotelemetry/hook/options.py
docs: $(TESTENV)/ready
	$(TESTENV)/bin/python -m autotelemetry.reference

format: $(TESTENV)/ready
	$(TESTENV)/bin/ruff format autotelemetry tests benchmarks hatch_build.py
	$(TESTENV)/bin/ruff check --fix autotelemetry tests benchmarks hatch_build.py

## bench: the performance comparison (writes docs/performance.md)
bench: $(TESTENV)/ready
	$(TESTENV)/bin/python benchmarks/run.py

## attribute: our share of an instrumented run, per function (callgrind, Python 3.12+)
attribute: $(TESTENV)/ready
	$(TESTENV)/bin/python benchmarks/attribute.py

clean:
	rm -rf $(DEMO) $(TESTENV) build dist
