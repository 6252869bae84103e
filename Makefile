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

# mypy checks every app package (strict for billing and the engine: see pyproject.toml).
MYPY_PACKAGES := accounts automation billing core integrations isend messaging privacy support

.PHONY: run test setup install services migrate lint fmt typecheck check browsers clean messages messages-compile

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) messages-compile

# The compiled catalogues (.mo) are built, never committed (.gitignore): from the .po files.
messages-compile: $(STAMP)
	$(PY) manage.py compilemessages --ignore='.venv/*' --ignore='static/vendor/*' >/dev/null

services: install
	@PY=$(PY) bash scripts/ensure_services.sh

migrate: services messages-compile
	$(PY) manage.py migrate --noinput
	$(PY) manage.py policies_publish_translations
	$(PY) manage.py seed_demo

setup: migrate

# `make run` is a demo: its seller has (made-up) bank details so that bank transfer is on offer
# out of the box. Set INVOICE_SELLER_BANK_DETAILS to your own ("\n" separates lines).
DEMO_BANK_DETAILS := Beneficiary: iSend MMC (demo)\nBank: Demo Bank ASC, Baku\nIBAN: AZ00DEMO00000000000000000000\nSWIFT: DEMOAZ22\nVOEN: 0000000000
run: export INVOICE_SELLER_BANK_DETAILS ?= $(DEMO_BANK_DETAILS)
run: setup
	@mkdir -p var
	@echo ""
	@echo "  iSend is starting at http://127.0.0.1:$(WEB_PORT)/  (admin: /admin/, API docs: /api/v1/docs/)"
	@echo "  Sandbox gateway: http://127.0.0.1:9100/_sandbox/   E-mails are printed below (console)."
	@echo "  Logins (demo owner, platform admin, support staff): printed above by seed_demo; see README."
	@echo ""
	$(VENV)/bin/honcho start -f Procfile

# Extract every marked string into the az and ru catalogues (file-level locations keep diffs small).
messages: install
	$(PY) manage.py makemessages -l az -l ru --add-location=file --no-obsolete \
		--ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='var/*' --ignore='docs/*' \
		--ignore='static/vendor/*'

browsers:
	@bash scripts/ensure_chromium.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports
	@# bandit warns about every AST node a reviewed `# nosec` line covers: those lines are noise.
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(MYPY_PACKAGES) --severity-level medium 2>&1 \
		| grep -v "nosec encountered"; exit $${PIPESTATUS[0]}

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy $(MYPY_PACKAGES)

test: services lint typecheck browsers
	$(VENV)/bin/pytest

check: test

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
