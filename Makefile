# `make demo`: set up a venv, write the demo workspace, render the demo month's report.
# `make test`: ruff, then the whole test suite (what .ci/run runs).
VENV ?= .venv
PY := $(VENV)/bin/python
PERIOD ?= 2026-10

.PHONY: demo test lint browser bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/recon demo --workspace data --force
	$(VENV)/bin/recon reconcile --period $(PERIOD) --out reports/$(PERIOD)-findings.csv || [ $$? -eq 1 ]
	$(VENV)/bin/recon report --period $(PERIOD)

# Debian's chromium (browser tests, recon report --pdf) and poppler-utils (the PDF test's pdftoppm)
browser:
	@command -v chromium >/dev/null && command -v pdftoppm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check recon_helpers tests benchmarks
	$(VENV)/bin/lint-imports

test: $(VENV)/.installed browser lint
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
