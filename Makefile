# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/microfinance-onboarding.yaml

.PHONY: demo test lint bench clean

# The example plugins (plugins/) are separate packages, installed as users would install
# theirs; their tests run with the rest.
PLUGINS := plugins/cxplan-nps plugins/cxplan-coverage

$(BIN)/.installed: pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]' $(addprefix -e ,$(PLUGINS))
	touch $@

demo: $(BIN)/.installed
	$(BIN)/cxplan plan $(SCENARIO) --report reports/

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# A package `cxplan new-plugin` writes must pass mypy --strict (its own pyproject says so)
# and ruff as generated: it is what plugin authors start from.
NEW_PLUGIN := build/lint-new-plugin

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks plugins
	$(BIN)/mypy src $(addsuffix /src,$(PLUGINS))
	$(BIN)/lint-imports  # the layers: README, "Layout"
	rm -rf $(NEW_PLUGIN) && $(BIN)/cxplan new-plugin example --output $(NEW_PLUGIN) >/dev/null
	cd $(NEW_PLUGIN)/cxplan-example && $(CURDIR)/$(BIN)/mypy src tests \
		&& $(CURDIR)/$(BIN)/ruff check --no-cache .
	rm -rf $(NEW_PLUGIN)

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.md
