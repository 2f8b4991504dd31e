# Two commands: `make run` sets everything up and serves the demo; `make test` sets up and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint lock messages clean bench

run: $(VENV)/.run-installed
	$(BIN)/planner db upgrade
	$(BIN)/planner demo
	$(BIN)/planner serve --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# Benchmarks, on demand only (never part of `make test`): `make bench ARGS="--quick"`, `ARGS="burst"`.
bench: $(VENV)/.run-installed
	$(BIN)/python -m bench $(ARGS)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "planner needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3

$(VENV)/.run-installed: $(VENV)/bin/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	@touch $@

lock: $(VENV)/bin/python
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet . && \
	  { echo "# Pinned runtime dependencies (pip install -r requirements.lock). Regenerate with: make lock"; \
	    $(VENV)-lock/bin/pip freeze --exclude planner; } > requirements.lock
	$(VENV)-lock/bin/pip install --quiet '.[test]' && \
	  { echo "# Pinned runtime and test dependencies. Regenerate with: make lock"; \
	    $(VENV)-lock/bin/pip freeze --all --exclude pip --exclude planner; } > requirements-dev.lock
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) build dist *.egg-info

lint: $(VENV)/.test-installed
	$(BIN)/ruff check planner channels tests

# Extract every marked string, merge it into the Chinese catalog (new entries arrive untranslated
# and tests/test_i18n.py fails until they are translated) and compile the catalog the app loads.
LOCALES := planner/translations
messages: $(VENV)/.run-installed
	mkdir -p $(LOCALES)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  -o $(LOCALES)/messages.pot .
	@if [ -f $(LOCALES)/zh_Hans_CN/LC_MESSAGES/messages.po ]; then \
	  $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i $(LOCALES)/messages.pot \
	    -d $(LOCALES) -l zh_Hans_CN; \
	else $(BIN)/pybabel init -i $(LOCALES)/messages.pot -d $(LOCALES) -l zh_Hans_CN; fi
	$(BIN)/pybabel compile -d $(LOCALES) -l zh_Hans_CN
