# The verbs a newcomer types. Each target does its own set-up on a fresh machine.
#   make run     start the whole service locally (API, S3, SQS, DynamoDB, Glue) in the foreground
#   make test    lint, template checks (sam validate --lint, checkov), unit and integration tests
#   make scan    checkov's security checks of template.yaml (each skip names its reason in the template)
#   make build   sam build, check the validator fits Lambda's 250 MB unzipped limit, smoke-test the layers
#   make deploy  sam deploy --guided (needs AWS credentials)
#   make bench   the validation and merge benchmark (ROWS= scales it)
#   make openapi regenerate the API's OpenAPI document from the functions' routes
#   make token   issue an API token in a deployed stack: make token STACK=ingestion TENANT=acme
#   make invoke  run a function once on an event: make invoke FUNCTION=StatusFunction EVENT=events/list_collections.json

SHELL := /bin/bash
.DEFAULT_GOAL := help

# One Python for the Lambda runtime (python3.12 in template.yaml) and for the tests.
PYTHON_VERSION := 3.12
# The first candidate that really runs: a pyenv shim can exist on PATH without the version behind it.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for candidate in \
	$$(ls -d "$$(pyenv root 2>/dev/null || echo $(HOME)/.pyenv)"/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION) 2>/dev/null | sort -V -r) \
	$$(command -v python$(PYTHON_VERSION)); do \
	"$$candidate" -c 'import sys' >/dev/null 2>&1 && { echo "$$candidate"; break; }; done)
endif

VENV := .venv
VENV_SAM := .venv-sam
# checkov pins boto3 and cachetools versions the service's own cannot share: a virtualenv of its own.
VENV_CHECKOV := .venv-checkov
PY := $(VENV)/bin/python
SAM := SAM_CLI_TELEMETRY=0 PATH="$(dir $(PYTHON)):$$PATH" $(VENV_SAM)/bin/sam
AWS_REGION ?= us-east-1
export AWS_PORT ?= 5000
export API_PORT ?= 3000

.PHONY: help install run test lint validate scan unit integration build package-size deploy token invoke bench openapi clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements/dev.txt client/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found: install it (e.g. pyenv install $(PYTHON_VERSION)) or pass PYTHON=/path/to/python$(PYTHON_VERSION)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	# The `ingest` client, editable; its dependencies are pinned in requirements/dev.txt.
	$(VENV)/bin/pip install --quiet --no-deps -e client
	# The shared layer's package and the local stack import from the checkout, as Lambda would from /opt/python.
	echo "$(CURDIR)/layers/shared" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ingestion.pth
	echo "$(CURDIR)" >> $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ingestion.pth
	touch $@

$(VENV_SAM)/.installed: requirements/sam.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install --quiet -r requirements/sam.txt
	touch $@

$(VENV_CHECKOV)/.installed: requirements/checkov.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

install: $(VENV)/.installed $(VENV_SAM)/.installed $(VENV_CHECKOV)/.installed

run: $(VENV)/.installed
	$(PY) -m local_stack

test: lint validate scan unit integration

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: $(VENV_SAM)/.installed
	$(SAM) validate --lint --region $(AWS_REGION)

scan: $(VENV_CHECKOV)/.installed
	$(VENV_CHECKOV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest tests/integration

build: $(VENV_SAM)/.installed
	$(SAM) build
	$(MAKE) package-size

package-size: $(VENV)/.installed
	$(PY) scripts/check_package_size.py .aws-sam/build
	$(PY) scripts/smoke_test_layers.py .aws-sam/build

deploy: build
	$(SAM) deploy --guided

token: $(VENV)/.installed
	@test -n "$(STACK)" -a -n "$(TENANT)" || { echo "usage: make token STACK=<stack name> TENANT=<tenant id>"; exit 1; }
	$(PY) scripts/create_token.py --stack $(STACK) --tenant $(TENANT)

# The response on stdout as JSON, the logs on stderr; against `make run`'s AWS endpoint on AWS_PORT,
# else a throwaway one holding the stack's resources.
invoke: $(VENV)/.installed
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { \
		echo "usage: make invoke FUNCTION=<logical id in template.yaml> EVENT=events/<file>.json" >&2; \
		echo "functions:" >&2; $(PY) -m local_stack.invoke --list | sed 's/^/  /' >&2; exit 2; }
	@$(PY) -m local_stack.invoke "$(FUNCTION)" "$(EVENT)"

openapi: $(VENV)/.installed
	$(PY) scripts/openapi.py

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(VENV_SAM) $(VENV_CHECKOV) .aws-sam .pytest_cache .ruff_cache
