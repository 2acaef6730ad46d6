# finlex: every step a person or a pipeline runs, in one place.
#   make run    - serve the API on :5000 with the production server (no AWS needed)
#   make test   - set everything up and run every test and linter
# Pipelines call these targets; nothing here is specific to one CI system.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
VERSION     := $(shell cat application/VERSION)
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Where the source lives, for the image's org.opencontainers.image.source label.
SOURCE      ?= $(shell git remote get-url origin 2>/dev/null || echo unknown)
IMAGE       ?= finlex
TAG         ?= latest
DOCKER      ?= docker
# Extra CA bundle for builds behind a TLS-intercepting proxy (optional).
CA_BUNDLE   ?=
, := ,

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- environments ----------------------------------------------------------

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements/app.lock | $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes -r requirements/app.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock release/pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e ./release
	touch $@ $(VENV)/.app-installed

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --require-hashes -r requirements/checkov.lock
	touch $@

.PHONY: venv
venv: $(VENV)/.dev-installed $(CHECKOV_VENV)/.installed ## create the dev and checkov environments

.PHONY: lock
lock: $(VENV)/.dev-installed ## re-pin requirements/*.lock from requirements/*.in
	cd requirements && for name in app dev checkov; do \
	  $(CURDIR)/$(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 $$name.in -o $$name.lock; \
	done

# --- the two commands of the README ----------------------------------------

.PHONY: run
run: $(VENV)/.app-installed ## serve the API on :5000 with the production server
	cd application && exec ../$(BIN)/python serve.py

.PHONY: test
test: venv ## run every test and linter (container tests need a Docker engine)
	@status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; fi; \
	exit $$status

# --- pieces of the test command, handy on their own ------------------------

.PHONY: lint
lint: $(VENV)/.dev-installed ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: format
format: $(VENV)/.dev-installed ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed ## checkov on infra/, offline (0 failed checks expected)
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov -d infra --framework terraform \
	  --skip-download --download-external-modules false --compact --quiet

.PHONY: tfdocs
tfdocs: $(VENV)/.dev-installed ## regenerate the inputs/outputs tables of the infra READMEs
	$(BIN)/python tools/tfdocs.py --root infra

.PHONY: tf-check
tf-check: $(VENV)/.dev-installed ## offline Terraform check of infra/: fmt -check, aws schema, module inputs, references
	PYTHONPATH=tools $(BIN)/python -m tfcheck.fmt infra
	PYTHONPATH=tools $(BIN)/python -m tfcheck infra

.PHONY: tf-schema
tf-schema: $(VENV)/.dev-installed ## regenerate tools/tfcheck/aws_schema.json from npm @cdktf/provider-aws (needs npm)
	PYTHONPATH=tools $(BIN)/python -m tfcheck.extract_schema -v

# --- image -----------------------------------------------------------------

.PHONY: image
image: ## build the container image with its OCI labels
	DOCKER_BUILDKIT=1 $(DOCKER) build \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg SOURCE=$(SOURCE) \
	  $(if $(CA_BUNDLE),--secret id=cabundle$(,)src=$(CA_BUNDLE)) \
	  -t $(IMAGE):$(TAG) .

.PHONY: bench
bench: $(VENV)/.dev-installed image ## scorecard: the seed's app vs the image vs host rows vs other servers (wrk, nginx, Docker)
	$(BIN)/python bench/serve_bench.py --image $(IMAGE):$(TAG) --markdown $(BENCH_ARGS)

.PHONY: stop-soak
stop-soak: $(VENV)/.dev-installed ## SIGTERM right after start, 50 times; prints the worst stop (SOAK_IMAGE=finlex:latest: the image)
	$(BIN)/python bench/stop_soak.py $(if $(SOAK_IMAGE),--image $(SOAK_IMAGE)) $(SOAK_ARGS)

# --- Terraform with the real CLI (GitHub's runners reach the registry) --------
# terraform.yml and ci.yml call these. Locally they need the terraform binary,
# infra/backend.hcl and infra/terraform.tfvars (copy the .example files). In CI
# the two files come from the repository variables TF_BACKEND_HCL and TF_TFVARS.
TF         ?= terraform
TF_ROOTS   := infra $(patsubst %/,%,$(dir $(wildcard infra/bootstrap/*.tf)))
TF_PLAN    := finlex.tfplan

.PHONY: tf-validate
tf-validate: ## terraform init -backend=false + validate of every root (needs the registry)
	@set -e; for dir in $(sort $(TF_ROOTS)); do \
	  echo "== $$dir"; \
	  $(TF) -chdir=$$dir init -backend=false -input=false -no-color >/dev/null; \
	  $(TF) -chdir=$$dir validate -no-color; \
	done

infra/backend.hcl infra/terraform.tfvars:
	@var=$(if $(findstring backend,$@),TF_BACKEND_HCL,TF_TFVARS); \
	if [ -z "$${!var}" ]; then \
	  echo "$@ is missing: copy $@.example and edit it (CI: set the repository variable $$var)" >&2; exit 2; \
	fi; \
	printf '%s\n' "$${!var}" > $@

.PHONY: tf-plan
tf-plan: infra/backend.hcl infra/terraform.tfvars ## terraform plan of infra/ (S3 backend) into infra/finlex.tfplan
	$(TF) -chdir=infra init -input=false -no-color -backend-config=backend.hcl
	$(TF) -chdir=infra plan -input=false -no-color -lock-timeout=5m -out=$(TF_PLAN)

.PHONY: tf-plan-summary
tf-plan-summary: ## print the saved plan as Markdown (GitHub job summary)
	@echo '### terraform plan (infra/)'; echo; echo '```'; \
	$(TF) -chdir=infra show -no-color $(TF_PLAN) 2>/dev/null || echo "(no plan was saved: see the plan step's log)"; \
	echo '```'

.PHONY: tf-apply
tf-apply: tf-plan ## plan, then apply exactly that plan
	$(TF) -chdir=infra apply -input=false -no-color -lock-timeout=5m $(TF_PLAN)

# --- release (finlex-release; options and exit codes: release/README.md) ----
# Pipelines and laptops run the same steps, e.g.
#   make image push scan-gate deploy verify TAG=$(git rev-parse HEAD) URL=https://finlex.example.com
# AWS_REGION empty = the SDK's default (profile or AWS_DEFAULT_REGION).
RELEASE        := $(BIN)/finlex-release
ECR_REPOSITORY ?= finlex
CLUSTER        ?= finlex
SERVICE        ?= finlex
URL            ?=
SCAN_ALLOWLIST ?= release/scan-allowlist.toml
REGION_ARG      = $(if $(AWS_REGION),--region $(AWS_REGION))

.PHONY: release-tag-check
release-tag-check:
	@if [ "$(TAG)" = latest ]; then \
	  echo "set TAG (e.g. TAG=\$$(git rev-parse HEAD)): ECR tags are immutable, 'latest' is not a release" >&2; exit 2; \
	fi

.PHONY: push
push: release-tag-check $(VENV)/.dev-installed ## docker login to ECR, push $(IMAGE):$(TAG) as $(ECR_REPOSITORY):$(TAG)
	@set -eo pipefail; \
	registry=$$($(RELEASE) ecr-login $(REGION_ARG) --docker $(DOCKER)); \
	$(DOCKER) tag $(IMAGE):$(TAG) $$registry/$(ECR_REPOSITORY):$(TAG); \
	$(DOCKER) push $$registry/$(ECR_REPOSITORY):$(TAG)

.PHONY: scan-gate
scan-gate: release-tag-check $(VENV)/.dev-installed ## wait for ECR's scan of $(ECR_REPOSITORY):$(TAG); fail on HIGH+ not allowlisted
	$(RELEASE) scan-gate $(REGION_ARG) --repository $(ECR_REPOSITORY) --image-tag $(TAG) \
	  --allowlist $(SCAN_ALLOWLIST)

.PHONY: deploy
deploy: release-tag-check $(VENV)/.dev-installed ## deploy $(ECR_REPOSITORY):$(TAG) by digest to $(CLUSTER)/$(SERVICE), follow it
	$(RELEASE) deploy $(REGION_ARG) --cluster $(CLUSTER) --service $(SERVICE) \
	  --image $(ECR_REPOSITORY):$(TAG)

.PHONY: verify
verify: $(VENV)/.dev-installed ## poll $(URL) until it is healthy and reports application/VERSION
	@if [ -z "$(URL)" ]; then echo "set URL, e.g. make verify URL=https://finlex.example.com" >&2; exit 2; fi
	$(RELEASE) verify --url $(URL)

.PHONY: rollback
rollback: $(VENV)/.dev-installed ## put back the revision the running one replaced (finlex:replaces tag), follow it
	$(RELEASE) rollback $(REGION_ARG) --cluster $(CLUSTER) --service $(SERVICE)

.PHONY: service-status
service-status: $(VENV)/.dev-installed ## task definition, deployments and target health of the service
	$(RELEASE) status $(REGION_ARG) --cluster $(CLUSTER) --service $(SERVICE)
