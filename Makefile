# Two commands on a fresh machine:
#   make run    create .venv if missing, install dlrun, train the default run
#   make test   the same set-up, then the whole test suite
#   make bench  the same set-up, then the performance comparisons (bench/results.md)
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: run test bench install clean

run: $(STAMP)
	$(VENV)/bin/dlrun $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Every Performance comparison, paired, medians; writes bench/results.md
bench: $(STAMP)
	$(VENV)/bin/python bench/performance.py

install: $(STAMP)

# Reinstall when the package metadata changes. pip (not uv) so that the
# torch and torchvision wheels on local disk are found.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) dist build .pytest_cache
