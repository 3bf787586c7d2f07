# psa-billing: the two commands a new user needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint unit integration e2e browser validate build bench bench-big lock clean screenshots screenshots-pdf

# A virtualenv with the locked dependencies and the `psa-billing` command.
$(STAMP): requirements.lock pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "psa-billing needs Python 3.11 or newer (set PY=python3.x)")'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Start the local stack, load a demo MSP, bill last month through the real state
# machine, print the summary and where the PDFs and emails are; stay up until Ctrl-C.
run: $(STAMP)
	$(BIN)/psa-billing local up --demo

# Everything CI runs: lint, types, template checks, unit + integration + end-to-end tests,
# and the portal pages in headless Chromium (tests/browser; needs /usr/bin/chromium:
# apt-get install -y chromium). The browser tests run in a second pytest process beside
# the others (each process has its own local stack on free ports); their output is shown
# when both have finished, and either failing fails `make test`.
test: $(STAMP) lint
	@rm -f .browser-tests.log; \
	$(BIN)/pytest -q -p no:cacheprovider tests/browser > .browser-tests.log 2>&1 & browser=$$!; \
	trap 'kill $$browser 2>/dev/null' INT TERM; \
	$(BIN)/pytest -q --ignore=tests/browser; rest=$$?; \
	wait $$browser; browser_rc=$$?; \
	echo "---- browser tests (tests/browser, run alongside the others) ----"; \
	cat .browser-tests.log; \
	[ $$rest -eq 0 ] && [ $$browser_rc -eq 0 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/psa_billing devtools/psa_billing_dev functions
	$(BIN)/cfn-lint template.yaml

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

browser: $(STAMP)
	$(BIN)/pytest -q tests/browser

# PNGs of every portal page (tests/browser/pages.py, and the states the browser tests
# photograph) at 1280 px and 390 px wide, in docs/screenshots/ (needs /usr/bin/chromium).
screenshots: $(STAMP)
	PSA_BILLING_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser

# `sam validate --lint` (aws-sam-cli lives in its own venv under .tools/).
validate: $(STAMP)
	bash infra/sam/validate.sh

# `sam build` for arm64 Lambda, then the bytecode of everything built (Lambda cannot write
# .pyc files; docs/benchmarks.md "Shipped bytecode"). Needs a python3.13 interpreter
# (pyenv's is used if present).
build: $(STAMP)
	bash infra/sam/validate.sh --build

# PNGs of every kind of statement PDF (render.samples) in docs/screenshots/ (needs pdftoppm:
# apt-get install -y poppler-utils).
screenshots-pdf: $(STAMP)
	$(BIN)/python bench/bench_render.py --samples docs/screenshots --png

bench: $(STAMP)
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_local_run.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_invoiceninja.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_pages.py
	$(BIN)/python bench/bench_run_page.py

# One customer with 10,000 ticket lines and 200,000 entries through the local stack
# (long: tens of minutes, most of it moto holding and sorting 200,000 items).
bench-big: $(STAMP)
	$(BIN)/python bench/bench_big_customer.py

# Re-resolve requirements.lock after changing pyproject.toml (needs uv on PATH).
lock:
	uv pip compile pyproject.toml --extra local --extra dev --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf $(VENV) .tools .aws-sam local-out .pytest_cache .mypy_cache .ruff_cache .hypothesis
