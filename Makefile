# PPAP Atlas — the two commands of the quick start:
#   make run    set up (venv, pinned packages, boundaries, sample data) and start the app (serve.py) on :8501
#   make test   the same set-up, plus test tools, Chromium and Thai fonts, then the whole test suite
# Everything the project needs is installed from here; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: run test setup data boundaries sample system-deps bench bench-engine bench-national bench-load bench-soak bench-database clean help

help:
	@echo "make run    install what is needed and start the app on http://localhost:$(PORT)"
	@echo "make test   install what is needed and run the whole test suite"
	@echo "make bench  print the engine benchmark (python -m bench engine)"
	@echo "make bench-national / bench-load / bench-soak / bench-database   scale benchmarks (docs/SCALE.md)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Rebuilt whenever a requirements file changes.
$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

setup: $(RUNTIME_STAMP) data

data: boundaries sample

# Installs from $$PPAP_BOUNDARIES, ../shared/boundaries or the official download (see
# data/boundaries/README.md); skipped once installed.
boundaries: $(RUNTIME_STAMP)
	@if [ -f data/boundaries/manifest.json ]; then \
		echo "boundaries: installed (data/boundaries/manifest.json)"; \
	else \
		$(PY) -m geo boundaries install; \
	fi

# The generator skips work when the sample is up to date (data/samples/sample_manifest.json).
sample: boundaries
	$(PY) -m geo sample

system-deps:
	bash scripts/install_system_deps.sh

run: setup
	@echo ""
	@echo "PPAP Atlas: http://localhost:$(PORT)"
	@echo ""
	$(PY) -m streamlit run serve.py --server.port $(PORT) --server.headless true

test: $(DEV_STAMP) data system-deps
	$(PY) -m pytest

bench: $(RUNTIME_STAMP) data
	$(PY) -m bench engine --households 1000000

# Scale benchmarks (docs/SCALE.md): real streamlit servers and headless Chromium, not part of `make test`.
# bench-national generates 13M households into data/national/ (never committed) when missing.
bench-national: $(DEV_STAMP) data system-deps
	$(PY) -m bench national --households 13000000

bench-load: $(DEV_STAMP) data system-deps
	$(PY) -m bench load --sessions 10,20,40

bench-soak: $(DEV_STAMP) data system-deps
	$(PY) -m bench soak --cycles 30 --concurrent 5

# The national data in a throwaway PostgreSQL: load, bulk read, snapshot, index (docs/SCALE.md).
bench-database: $(DEV_STAMP) data system-deps
	@[ -f data/national/households.parquet ] || $(PY) -m geo national
	$(PY) -m bench database

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
