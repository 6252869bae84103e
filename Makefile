# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_PORT ?= 8000
export WEB_PORT
# Links in e-mails and the sandbox's webhook callbacks must point at the port we serve on.
SITE_URL ?= http://127.0.0.1:$(WEB_PORT)
export SITE_URL

# Modules held to mypy; this list may only grow.
MYPY_MODULES := accounts/permissions.py accounts/validators.py accounts/useragent.py \
	accounts/services.py accounts/tenancy.py accounts/selectors.py accounts/api_auth.py \
	isend/health.py messaging/gateways messaging/engine/limiter.py privacy accounts/hashing.py \
	billing/privacy.py automation/privacy.py integrations/privacy.py messaging/suppression.py

.PHONY: run test setup install services migrate lint fmt typecheck check browsers clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

services: install
	@PY=$(PY) bash scripts/ensure_services.sh

migrate: services
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

setup: migrate

run: setup
	@mkdir -p var
	@echo ""
	@echo "  iSend is starting at http://127.0.0.1:$(WEB_PORT)/  (admin: /admin/, API docs: /api/v1/docs/)"
	@echo "  Sandbox gateway: http://127.0.0.1:9100/_sandbox/   E-mails are printed below (console)."
	@echo ""
	$(VENV)/bin/honcho start -f Procfile

browsers:
	@bash scripts/ensure_chromium.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy $(MYPY_MODULES)

test: services lint typecheck browsers
	$(VENV)/bin/pytest

check: test

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
