# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   triage the bundled sample inbox (no mail server needed)
#   make test   run the test suite, less the slow end-to-end tests (installs Dovecot, OpenSSL and
#               Chromium from apt when missing and root); `make test-slow` runs those, CI runs both

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_STATE := build/demo-state.db
DEMO_NOW   := 2026-11-24T12:00:00+00:00

.PHONY: demo test test-slow check-sklearn-range model system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes triage 2>/dev/null || true  # this project's former distribution name
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	@mkdir -p build && rm -f $(DEMO_STATE)*
	$(BIN)/triage once samples/inbox --state $(DEMO_STATE) --now $(DEMO_NOW) \
		--support-address help@larkspur.example

# Tests run on every core (at most four): each worker starts its own Dovecot.
PYTEST_WORKERS := --numprocesses=auto --maxprocesses=4

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) -m "not slow"

# Minutes each: retraining end to end, the big fuzz slices.
test-slow: $(STAMP) system-deps
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) -m slow

# The oldest and the newest scikit-learn pyproject.toml allows, from a wheel (needs PyPI).
check-sklearn-range: $(STAMP)
	sh scripts/check_sklearn_range.sh both

system-deps:
	@sh scripts/install-system-deps.sh

model: $(STAMP)
	$(BIN)/python scripts/build_default_model.py

clean:
	rm -rf $(VENV) build .pytest_cache
