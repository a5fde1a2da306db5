# `make report` and `make test` each create .venv and install on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,latex]"
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(PY) -m reports

test: $(STAMP)
	JAX_PLATFORMS=cpu $(PY) -m pytest -q -n 2 -p no:cacheprovider

clean:
	rm -rf $(VENV) reports/out bench/out
