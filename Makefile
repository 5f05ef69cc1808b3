# eventbot: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SANDBOX := scripts/sandbox-wiki
MARIADB := scripts/test-mariadb
export PYWIKIBOT_DIR ?= $(CURDIR)/.sandbox/pywikibot
export EVENTBOT_DATA_DIR ?= $(CURDIR)/.sandbox/data
# The day after the example event: the list, the report with the event's activity, and the
# follow-ups that are due (the pre-work reminder and the feedback request) all show.
DEMO_NOW ?= 2026-07-13T10:30+05:30

.PHONY: help venv sandbox mariadb demo test unit lint typecheck bench bench-parser stop clean

help:
	@echo "make demo    - set everything up and run eventbot on the local sandbox wiki"
	@echo "make test    - lint, type-check and run every test (starts the sandbox wiki)"
	@echo "make stop    - stop the sandbox wiki servers"

# The virtual environment is rebuilt when pyproject.toml changes.
# Debian's own python3 has no venv module until python3-venv is installed: install it when root.
$(BIN)/eventbot: pyproject.toml
	@echo "make: creating the virtual environment in $(VENV) (once) ..."
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "make: '$(PYTHON) -m venv' failed; install python3-venv (Debian) and run make again" >&2; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); }
	@{ $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[test]'; } \
	  > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; echo "make: installing into $(VENV) failed" >&2; exit 1; }
	@touch $@

venv: $(BIN)/eventbot

sandbox:
	$(SANDBOX) start

demo: venv sandbox
	$(BIN)/eventbot run --event config/events/ttt-2026.yaml --now $(DEMO_NOW)
	@echo
	@echo "Look at the pages (or add ?action=raw to see the wikitext):"
	@echo "  http://127.0.0.1:8101/wiki/Train_the_Trainer_2026/Participants"
	@echo "  http://127.0.0.1:8101/wiki/Train_the_Trainer_2026/Report"
	@echo "  http://127.0.0.1:8101/wiki/User_talk:Sailaja_Vemuri   (a follow-up message in Telugu)"
	@$(SANDBOX) status | tail -n 2

lint: venv
	$(BIN)/ruff check bot tests $(wildcard scripts/*)
typecheck: venv
	$(BIN)/mypy

# The store tests also run on a private MariaDB (ToolsDB is MariaDB); the report test opens the
# HTML report in headless Chromium. In `make test` both are required, not skipped.
mariadb:
	$(MARIADB) start >/dev/null

test: venv sandbox mariadb lint typecheck
	EVENTBOT_REQUIRE_MARIADB=1 EVENTBOT_REQUIRE_CHROMIUM=1 $(BIN)/pytest -q

unit: venv
	$(BIN)/pytest -q tests/unit

# The statistics benchmark (not part of the tests): builds or restores a synthetic event of
# 2,000 participants and ~100,000 revisions on its own sandbox farm, then measures.
bench: venv
	$(BIN)/python scripts/bench-stats

bench-parser: venv
	$(BIN)/python scripts/bench-parser

stop:
	$(SANDBOX) stop
	$(MARIADB) stop

clean: stop
	rm -rf $(VENV) .sandbox .mypy_cache .pytest_cache .ruff_cache
