# Two commands on a fresh machine:
#   make run        create .venv if missing, install dlrun, train the default run
#   make test       the same set-up, then the whole test suite (what .ci/run runs, after make lint)
# and for working on dlrun:
#   make test-fast  the tests without the `slow` mark: in-process, no training in other processes,
#                   no services, on two workers as make test (1.5-2 minutes on 2 cores); PYTEST_ARGS='-k name' narrows either
#   make lint       ruff's linter and formatter check (configured in pyproject.toml)
#   make bench      the performance comparisons (bench/results.md) and the serve load test
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench install bytecode clean

run: $(STAMP) bytecode
	$(VENV)/bin/dlrun $(ARGS)

# pytest-xdist, one module per worker (module fixtures stay shared): the process tests leave a
# core idle while they wait (start-up, rendezvous, polls), and two workers fill it (README, Development).
# OMP_WAIT_POLICY=PASSIVE: the tests run several torch processes at once on few cores, and OpenMP's
# idle threads spinning for work took the cores from the others (the suite: 12m39s spinning, 8m18s
# passive, on 2 cores). It changes how threads wait, never what they compute.
TEST_ENV := OMP_WAIT_POLICY=PASSIVE

test: $(STAMP) bytecode
	$(TEST_ENV) $(VENV)/bin/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP) bytecode
	$(TEST_ENV) $(VENV)/bin/python -m pytest -m "not slow" -n 2 --dist loadfile $(PYTEST_ARGS)

# Byte-compile dlrun's source once: where PYTHONDONTWRITEBYTECODE is set (as on CI's machines)
# every dlrun process the tests start would compile it again (~0.6 s of CPU per training process).
bytecode: $(STAMP)
	$(VENV)/bin/python -m compileall -q src

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# Every Performance comparison, paired, medians; writes bench/results.md
bench: $(STAMP)
	$(VENV)/bin/python bench/performance.py
	$(VENV)/bin/python bench/serve.py

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
