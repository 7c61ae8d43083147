# Quick start on a fresh Debian/Ubuntu machine with Python 3.11:
#   make run    set up .venv from the hash-pinned lock and run the reference pipeline end to end
#   make test   set up .venv, then lint, type-check, run the whole test suite and `lockship verify`
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: run test setup lint lock clean

run: setup
	dvc repro
	dvc metrics show
	@# The package stage's outputs may come from the DVC cache although this machine has no image
	@# yet: run it once more; it builds or finds the image.
	dvc repro --single-item --force package

# Then prove that the committed pipeline reproduces its dvc.lock, re-run from scratch beside this checkout.
test: setup lint
	pytest -n 2 --dist loadfile
	lockship verify

lint: setup
	ruff check .
	ruff format --check .
	mypy

setup: $(INSTALLED)

# Every library comes from requirements.lock with its hash, so every machine trains the same bytes.
$(INSTALLED): requirements.lock pyproject.toml
	scripts/install-system-packages
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

# Re-resolve the lock from pyproject.toml's ranges (needs uv: `pip install uv`).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --output-file requirements.lock --custom-compile-command "make lock"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
