# Wharf — the two commands: `make run` (demo on SQLite) and `make test` (the suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench install chromium system-libs node cups clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Set up the database (SQLite in instance/ unless DATABASE_URL is set), load demo data, serve.
run: install system-libs
	$(BIN)/flask --app app init
	$(BIN)/flask --app app seed-demo
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

## Debian's Chromium for the Playwright browser tests (no browser download at run time).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Debian libraries for PDFs and barcodes: WeasyPrint's Pango/HarfBuzz (libharfbuzz-subset0
## makes font subsetting 5× faster), zbar for the scan tests, poppler's pdftotext/pdftoppm,
## and the DejaVu fonts the print templates use.
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libzbar0 poppler-utils fonts-dejavu-core
system-libs:
	@dpkg -s $(SYSTEM_LIBS) >/dev/null 2>&1 || { \
	  echo "Installing $(SYSTEM_LIBS)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_LIBS) >/dev/null; }

## Node (Debian's nodejs unless one is installed) runs the vendored ZPL renderer in the ZPL label tests.
node:
	@command -v node >/dev/null 2>&1 || { \
	  echo "Installing Debian's nodejs for the ZPL renderer"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }

## Debian's CUPS for the print hub's IPP tests: tests/printers.py starts a cupsd of its own
## (private configuration, a free loopback port) with raw queues, so nothing here is started.
CUPS_PACKAGES := cups cups-client cups-ipp-utils
cups:
	@dpkg -s $(CUPS_PACKAGES) >/dev/null 2>&1 || { \
	  echo "Installing $(CUPS_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(CUPS_PACKAGES) >/dev/null; }

## Lint (ruff check + format, vulture for dead code), then the whole suite, browser tests
## included (uses DATABASE_URL when set).
test: lint chromium system-libs node cups
	$(BIN)/pytest

## ruff (configuration in pyproject.toml) and vulture (dead code; vulture_allow.py lists
## what frameworks use by name).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/vulture

## Benchmarks (ratios against a baseline measured in the same run); see bench/.
bench: install
	$(BIN)/python bench/acl_guard.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/print_labels.py
	@if [ -n "$$DATABASE_URL" ]; then $(BIN)/python bench/lcs_live.py; else echo "bench/lcs_live.py skipped: it needs DATABASE_URL (PostgreSQL)"; fi
	@if [ -n "$$DATABASE_URL" ]; then $(BIN)/python bench/floor_load.py; else echo "bench/floor_load.py skipped: it needs DATABASE_URL (PostgreSQL)"; fi

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

## The translation catalogs (Flask-Babel): extract the marked strings of the code and the
## templates into translations/messages.pot, merge them into each language's .po, compile
## the .mo files the app reads (committed: `make run` needs no build step). Translate the
## new entries in translations/<code>/LC_MESSAGES/messages.po, then run this again.
TRANSLATED := app.py blueprints web services templates
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k add_nav:1 -k area --no-location --sort-output \
	  --project Wharf --copyright-holder "Wharf" -o translations/messages.pot $(TRANSLATED)
	$(BIN)/pybabel update --quiet -i translations/messages.pot -d translations --no-fuzzy-matching --omit-header
	$(BIN)/pybabel compile --quiet -d translations --statistics
