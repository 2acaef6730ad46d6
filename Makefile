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
# Extra pytest arguments of `make test` (e.g. PYTEST_ARGS='tests/release -x').
PYTEST_ARGS ?=
, := ,

# `make help` prints every target that has a `## ` comment, in aligned columns,
# then the variables a command line may set, with their values (tools/makehelp.py).
HELP_VARS := PYTEST_ARGS IMAGE TAG DOCKER CA_BUNDLE REVISION SOURCE CONTAINER PORT PYTHON TF \
             ENV TF_BACKEND_HCL TF_TFVARS TF_PLAN_SHA256 ECR_REPOSITORY CLUSTER SERVICE URL AWS_REGION \
             SCAN_ALLOWLIST OSV_URL BASE_IMAGE KEEP_EXISTING IMAGE_ARCHIVE IMAGE_ID FOR STRICT REHEARSE_ARGS TRAFFIC_ARGS \
             CPU_ARCHITECTURE DEPLOY_BASE DEPLOY_WAIT ALLOW_HTTP PROBE_URL \
             DEPLOY_ENVIRONMENT PROMOTE_FROM DIGEST PASSED TASK_CONTAINER \
             RELEASE_ENV BENCH_ARGS SOAK_IMAGE SOAK_ARGS

.PHONY: help
help: ## list the targets and the variables they read
	@$(PYTHON) tools/makehelp.py $(MAKEFILE_LIST) -- \
	  $(foreach v,$(HELP_VARS),$(v) $(call shell-quote,$(HELP_$(v))) $(call shell-quote,$($(v))))

shell-quote = '$(subst ','\'',$(1))'

HELP_PYTEST_ARGS    := extra pytest arguments for make test, e.g. PYTEST_ARGS="tests/application -x"
HELP_IMAGE          := local image name that make image builds and make push reads
HELP_TAG            := image tag; release targets need a real one (the commit SHA), not latest
HELP_DOCKER         := docker client to use (one with BuildKit: make doctor checks it)
HELP_CA_BUNDLE      := PEM bundle of a TLS-intercepting proxy for pip in the build, or none
HELP_REVISION       := git revision that make image bakes in and make verify expects (REVISION= skips the check)
HELP_SOURCE         := repository URL for the image's org.opencontainers.image.source label
HELP_CONTAINER      := name of the container that make start runs and make logs/stop find
HELP_PORT           := host port that make start publishes
HELP_PYTHON         := interpreter that creates the virtual environments (3.11+)
HELP_TF             := terraform command
HELP_ENV            := make tf-*: an environment of infra/environments (staging, production, ...); empty: production alone
HELP_TF_BACKEND_HCL := text of infra/backend.hcl, written if the file is missing (CI: repository variable)
HELP_TF_TFVARS      := text of infra/terraform.tfvars, written if the file is missing (CI: repository variable)
HELP_TF_PLAN_SHA256 := make tf-apply/tf-plan-check: the plan's SHA-256 the plan job recorded (empty: its .sha256 file)
HELP_ECR_REPOSITORY := ECR repository of make push/scan-gate/deploy
HELP_CLUSTER        := ECS cluster of make deploy/rollback/service-status
HELP_SERVICE        := ECS service of make deploy/rollback/service-status
HELP_TASK_CONTAINER := the app's container in the task definition (make deploy/verify-record/promote); infra/ names it as the service
HELP_URL            := public base URL that make verify polls
HELP_AWS_REGION     := AWS region (empty: the SDK default)
HELP_SCAN_ALLOWLIST := findings make scan and make scan-gate accept (ID, package, reason, owner, <= 90 days)
HELP_BASE_IMAGE     := make image: replaces the Dockerfile's pinned base, e.g. the offline stand-in debian:trixie-slim
HELP_OSV_URL        := make scan: OSV query endpoint of an advisory mirror (empty: OSV's public API)
HELP_KEEP_EXISTING  := make push: 1 = if ECR holds TAG from another build that an earlier run tested, keep and deploy it
HELP_IMAGE_ARCHIVE  := file that make image-save writes and make image-load reads
HELP_IMAGE_ID       := make image-load, make push: the ID of the image the tests ran (make image-save prints it)
HELP_CPU_ARCHITECTURE := the tasks' CPU (X86_64 or ARM64, infra's cpu_architecture): make image builds for it, make push checks it
HELP_DEPLOY_BASE    := make deploy: the revision to copy instead of the running one, e.g. Terraform's finlex:12
HELP_DEPLOY_WAIT    := make deploy: 1 = wait for a deployment in progress instead of refusing
HELP_ALLOW_HTTP     := make verify: 1 = accept a plain http:// URL (a local server)
HELP_PROBE_URL      := make deploy: run it under finlex-release probe against this URL; fail on a failed request or a gap over 250 ms
HELP_DEPLOY_ENVIRONMENT := make verify-record/promote: the environment verified or promoted to (staging, production)
HELP_PROMOTE_FROM   := make promote: the environment whose verification record the digest needs
HELP_DIGEST         := make verify-record/promote: sha256:... of ECR_REPOSITORY to use instead of TAG
HELP_PASSED         := make verify-record: checks run before and passed, recorded as reported, e.g. PASSED=probe
HELP_RELEASE_ENV    := release: the release targets run from .venv-release (finlex-release only; deploy.yml), dev: from .venv
HELP_FOR            := make doctor: goals to check, e.g. FOR=deploy or FOR=run,test
HELP_STRICT         := make doctor: 1 = a check that could not run here (no GitHub token, no network) fails too
HELP_REHEARSE_ARGS  := extra arguments of make rehearse, e.g. REHEARSE_ARGS="--checks release"
HELP_TRAFFIC_ARGS   := extra arguments of make rehearse-traffic, e.g. TRAFFIC_ARGS="--scenarios rolling-deploy --controls"
HELP_BENCH_ARGS     := extra arguments of make bench, e.g. BENCH_ARGS="--duration 5 --stops 10"
HELP_SOAK_IMAGE     := make stop-soak: stop this image in a container instead of serve.py on the host
HELP_SOAK_ARGS      := extra arguments of make stop-soak, e.g. SOAK_ARGS="--count 200"

# A mistyped target: one line pointing at the list, exit 2 (make's own usage code).
# (Also reached by a missing prerequisite file, e.g. requirements/dev.lock.)
# The Makefile itself is never a target to rebuild (with -B make would try, through .DEFAULT).
Makefile: ;

.DEFAULT:
	@echo "make: $(if $(findstring /,$@),file '$@' is missing,no target '$@'); run 'make help' for the list" >&2; exit 2

.PHONY: doctor
doctor: ## check the prerequisites of run, test, image, rehearse, deploy (FOR=deploy: one goal)
	@DOCKER='$(DOCKER)' CA_BUNDLE='$(CA_BUNDLE)' TF='$(TF)' $(PYTHON) tools/doctor $(if $(FOR),--for $(FOR)) $(if $(STRICT),--strict)

# --- environments ----------------------------------------------------------

# One progress line per step (pip itself stays quiet); sizes as measured on Linux x86-64.
STEP = @printf '==> %s\n'

$(BIN)/activate: requirements/pip.lock
	$(STEP) "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.lock

# The service is the package application/finlex_api, installed editable: its
# metadata holds application/VERSION, so a new VERSION reinstalls it.
$(VENV)/.app-installed: requirements/app.lock application/pyproject.toml application/VERSION | $(BIN)/activate
	$(STEP) "installing the service (application/) and its dependencies into $(VENV) (requirements/app.lock, ~45 MB with pip)"
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/app.lock
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./application
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock release/pyproject.toml application/pyproject.toml application/VERSION | $(BIN)/activate
	$(STEP) "installing the test and lint tools into $(VENV) (requirements/dev.lock, ~700 MB, 1-3 min)"
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(STEP) "installing finlex-release (release/) and finlex-api (application/) into $(VENV), editable"
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./release -e ./application
	@touch $@ $(VENV)/.app-installed

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(STEP) "creating $(CHECKOV_VENV) and installing checkov (requirements/checkov.lock, ~300 MB)"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.lock
	@$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/checkov.lock
	@touch $@

# The deploy job's toolchain: finlex-release and its dependencies (requirements/release.lock,
# hashed) and nothing else; that job holds AWS credentials. Locally the release targets use
# .venv, which has finlex-release among the test tools; RELEASE_ENV=release makes them use
# this one (deploy.yml sets it). make release-venv prints what it holds.
RELEASE_VENV := .venv-release

$(RELEASE_VENV)/.installed: requirements/release.lock requirements/pip.lock release/pyproject.toml
	$(STEP) "creating $(RELEASE_VENV): finlex-release and requirements/release.lock only"
	@$(PYTHON) -m venv $(RELEASE_VENV)
	@$(RELEASE_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.lock
	@$(RELEASE_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/release.lock
	@$(RELEASE_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation ./release
	@touch $@

.PHONY: release-venv
release-venv: $(RELEASE_VENV)/.installed ## the deploy job's toolchain: finlex-release and requirements/release.lock only; lists it
	@$(RELEASE_VENV)/bin/pip list --disable-pip-version-check --format=freeze

.PHONY: venv
venv: $(VENV)/.dev-installed $(CHECKOV_VENV)/.installed ## create the dev and checkov environments

.PHONY: lock
lock: $(VENV)/.dev-installed ## re-pin requirements/*.lock from requirements/*.in
	$(BIN)/python tools/relock.py --uv $(CURDIR)/$(BIN)/uv pip app dev release checkov

# --- the two commands of the README ----------------------------------------

.PHONY: run
run: $(VENV)/.app-installed ## serve the API on :5000 with the production server
	exec $(BIN)/finlex-api

.PHONY: test
# Two pytest sessions side by side: tests/rehearsal, which mostly waits on the AWS
# provider, beside all the others; its output follows theirs (tools/testsessions.py).
# With PYTEST_ARGS, one session runs what they name.
test: venv ## run every test and linter (container tests need a Docker engine)
	@$(BIN)/python tools/testsessions.py --python $(BIN)/python -- $(PYTEST_ARGS)

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

.PHONY: tf-fmt
tf-fmt: $(VENV)/.dev-installed ## terraform fmt -check of infra/, offline (embedded Terraform, no CLI needed)
	PYTHONPATH=tools $(BIN)/python -m tffmt infra

.PHONY: rehearse
rehearse: $(VENV)/.dev-installed ## apply, deploy, roll back, destroy infra/ on an emulated AWS (needs terraform + provider mirror)
	PYTHONPATH=tools $(BIN)/python -m rehearse --image $(IMAGE):$(TAG) --docker $(DOCKER) $(REHEARSE_ARGS)

.PHONY: rehearse-traffic
rehearse-traffic: $(VENV)/.dev-installed ## real traffic through 7 kinds of deployment of the image, HAProxy as the ALB (needs docker, haproxy, terraform)
	PYTHONPATH=tools $(BIN)/python -m traffic --image "$(IMAGE):$(TAG)" --docker "$(DOCKER)" $(TRAFFIC_ARGS)

# --- image -----------------------------------------------------------------

# The base image is the Dockerfile's pin (an official index, by digest). BASE_IMAGE, empty
# by default, replaces it explicitly: on a machine that reaches no registry, the offline
# stand-in of .ci/base-image.sh (BASE_IMAGE=debian:trixie-slim). The override reaches the
# shell through the environment only, after a check that it is one image reference.
BASE_IMAGE ?=
export BASE_IMAGE
PINNED_BASE_IMAGE = $(shell sed -n 's/^FROM \(.*\) AS pinned-base$$/\1/p' Dockerfile 2>/dev/null)

# The tasks' CPU, ECS's cpuArchitecture: infra/ leaves the ecs_cluster module's default
# (a test keeps the two equal). make image builds for it; make push refuses another.
CPU_ARCHITECTURE ?= X86_64
PLATFORM = linux/$(if $(filter ARM64,$(CPU_ARCHITECTURE)),arm64,amd64)

# Make variables reach the recipes below as text: each is checked by tools/makeargs.py
# before any shell sees it as code, or passed as one quoted word ($(call shell-quote,...)).
MAKEARGS = $(PYTHON) tools/makeargs.py

.PHONY: tag-check
tag-check:
	@$(MAKEARGS) tag -- $(call shell-quote,$(TAG))

.PHONY: cpu-architecture-check
cpu-architecture-check:
	@$(MAKEARGS) cpu-architecture -- $(call shell-quote,$(CPU_ARCHITECTURE))

# Before building, tools/doctor checks what the build needs (a client with
# BuildKit, the engine, a CA bundle decision behind a proxy) and prints the fix.
.PHONY: image
image: tag-check cpu-architecture-check ## build the container image IMAGE:TAG for the tasks' CPU_ARCHITECTURE, with its OCI labels (checks BuildKit first)
	@$(MAKEARGS) base-image -- "$$BASE_IMAGE"
	@DOCKER=$(call shell-quote,$(DOCKER)) CA_BUNDLE=$(call shell-quote,$(CA_BUNDLE)) $(PYTHON) tools/doctor --for image --quiet --before image
	DOCKER_BUILDKIT=1 $(call shell-quote,$(DOCKER)) build --platform $(PLATFORM) \
	  --build-arg $(call shell-quote,VERSION=$(VERSION)) --build-arg $(call shell-quote,REVISION=$(REVISION)) \
	  --build-arg $(call shell-quote,SOURCE=$(SOURCE)) \
	  $(if $(BASE_IMAGE),--build-arg "BASE_IMAGE=$$BASE_IMAGE") \
	  --label "org.opencontainers.image.base.name=$${BASE_IMAGE:-$(PINNED_BASE_IMAGE)}" \
	  $(if $(filter-out none,$(CA_BUNDLE)),--secret $(call shell-quote,id=cabundle$(,)src=$(CA_BUNDLE))) \
	  -t $(call shell-quote,$(IMAGE):$(TAG)) .

# The container the README's `docker run` starts, under a name that logs/stop find.
CONTAINER ?= finlex
PORT      ?= 5000

.PHONY: start
start: ## run IMAGE:TAG in the background as CONTAINER on PORT, the ECS way (read-only, no caps)
	$(DOCKER) run -d --name $(CONTAINER) -p $(PORT):5000 --read-only --tmpfs /tmp --cap-drop ALL \
	  --security-opt no-new-privileges $(IMAGE):$(TAG)
	@echo "http://localhost:$(PORT)/version  (make logs: its log; make stop: stop and remove it)"

.PHONY: logs
logs: ## follow the log of the container that make start runs (Ctrl-C stops following)
	$(DOCKER) logs --follow $(CONTAINER)

.PHONY: stop
stop: ## stop the container that make start runs (graceful SIGTERM) and remove it
	$(DOCKER) stop $(CONTAINER)
	$(DOCKER) rm $(CONTAINER)

# CI hands the image it tested to the deploy job as a file, with its ID: the
# deploy pushes that very image (an image ID is the digest of its config).
IMAGE_ARCHIVE ?= finlex-image.tar
IMAGE_ID      ?=
IMAGEHANDOFF   = $(PYTHON) tools/imagehandoff.py --docker $(call shell-quote,$(DOCKER))

.PHONY: image-save
image-save: ## save IMAGE:TAG to IMAGE_ARCHIVE; print image-id=ID (for GITHUB_OUTPUT)
	@$(IMAGEHANDOFF) save $(call shell-quote,$(IMAGE_ARCHIVE)) $(call shell-quote,$(IMAGE):$(TAG))

.PHONY: image-load
image-load: ## load IMAGE_ARCHIVE; fail unless IMAGE:TAG has the ID IMAGE_ID (the image CI tested)
	@$(MAKEARGS) required -- $(call shell-quote,$(IMAGE_ID)) "set IMAGE_ID, the ID make image-save printed"
	@$(IMAGEHANDOFF) load $(call shell-quote,$(IMAGE_ARCHIVE)) $(call shell-quote,$(IMAGE):$(TAG)) \
	  $(call shell-quote,$(IMAGE_ID))

.PHONY: bench
bench: $(VENV)/.dev-installed image ## scorecard: the seed's app vs the image vs host rows vs other servers (wrk, nginx, Docker)
	PYTHONPATH=tools $(BIN)/python bench/serve_bench.py --image $(IMAGE):$(TAG) --docker $(DOCKER) --markdown $(BENCH_ARGS)

.PHONY: stop-soak
stop-soak: $(VENV)/.dev-installed ## SIGTERM right after start, 50 times; prints the worst stop (SOAK_IMAGE=finlex:latest: the image)
	PYTHONPATH=tools $(BIN)/python bench/stop_soak.py --docker $(DOCKER) $(if $(SOAK_IMAGE),--image $(SOAK_IMAGE)) $(SOAK_ARGS)

# --- Terraform with the real CLI (GitHub's runners reach the registry) --------
# terraform.yml and ci.yml call these. Locally they need the terraform binary,
# infra/backend.hcl and infra/terraform.tfvars (copy the .example files). In CI
# the two files come from the repository variables TF_BACKEND_HCL and TF_TFVARS.
# ENV names one environment of infra/environments (infra/README.md, Environments):
# its state key and var file join those two, its plan files and Terraform data
# directory are its own. ENV empty: production alone, the day-one path.
TF         ?= terraform
ENV        ?=
TF_ROOTS   := infra $(patsubst %/,%,$(dir $(wildcard infra/bootstrap/*.tf)))
TF_PLAN     = $(if $(ENV),finlex-$(ENV).tfplan,finlex.tfplan)
# The drift check's plan (never applied).
TF_DRIFT_PLAN = $(if $(ENV),drift-$(ENV).tfplan,drift.tfplan)
# Each environment keeps its own .terraform directory (relative to infra/), so each
# stays initialized on its own state key; ENV empty keeps Terraform's .terraform.
TF_DATA    = $(if $(ENV),TF_DATA_DIR=.terraform-$(ENV) )
# ENV's state key joins backend.hcl's bucket and region; its var file overrides terraform.tfvars.
TF_BACKEND_ARGS = -backend-config=backend.hcl$(if $(ENV), -backend-config=environments/$(ENV).backend.hcl)
TF_VAR_FILE_ARG = $(if $(ENV), -var-file=environments/$(ENV).tfvars)
# Records, checks and applies saved plans; checks drift (tools/tfplan.py: exit codes there).
TFPLAN      = $(TF_DATA)$(PYTHON) tools/tfplan.py --chdir infra --terraform '$(TF)'
# The plan's SHA-256 as the plan job recorded it; empty: only the .sha256 file beside it.
TF_PLAN_SHA256 ?=
TF_PLAN_HASH_ARG = $(if $(TF_PLAN_SHA256),--sha256 $(TF_PLAN_SHA256))
# Every init takes the providers the committed .terraform.lock.hcl names, never newer.
TF_INIT    := init -input=false -no-color -lockfile=readonly
# Platforms whose provider hashes make tf-lock records (the registry must be reachable).
TF_LOCK_PLATFORMS := linux_amd64 linux_arm64 darwin_amd64 darwin_arm64

# Runs a step in each root, stops at the first failure (tools/tfroots.py).
TFROOTS     = $(PYTHON) tools/tfroots.py --terraform '$(TF)'

.PHONY: tf-validate
tf-validate: ## terraform init -backend=false + validate of every root (needs the registry)
	@$(TFROOTS) validate --init '$(TF_INIT) -backend=false' $(sort $(TF_ROOTS))

# Every target that reads ENV checks it first: a mistyped one stops with one line.
.PHONY: tf-env-check
tf-env-check:
	@$(PYTHON) tools/tfenv.py --root infra check --origin '$(origin ENV)' -- $(call shell-quote,$(ENV))

# Missing: written from the CI variable (TF_BACKEND_HCL, TF_TFVARS), or a line saying what to do.
TF_CONFIG_VAR = $(if $(findstring backend,$@),TF_BACKEND_HCL,TF_TFVARS)
infra/backend.hcl infra/terraform.tfvars:
	@$(PYTHON) tools/tfenv.py write $@ $(TF_CONFIG_VAR) "$${$(TF_CONFIG_VAR)}"

.PHONY: tf-plan
tf-plan: tf-env-check infra/backend.hcl infra/terraform.tfvars ## plan infra/ (ENV's, S3 backend, no lock) into infra/finlex[-ENV].tfplan + .sha256 + .md summary
	$(TF_DATA)$(TF) -chdir=infra $(TF_INIT) $(TF_BACKEND_ARGS)
	$(TF_DATA)$(TF) -chdir=infra plan -input=false -no-color -lock=false$(TF_VAR_FILE_ARG) -out=$(TF_PLAN)
	$(TFPLAN) record $(TF_PLAN)

.PHONY: tf-lock
# `get` first: providers lock reads the modules, and a fresh clone has none installed
# (init would install the provider too, which the lock may not cover yet on this platform).
tf-lock: ## add every platform's provider hashes to the .terraform.lock.hcl files (needs the registry)
	@$(TFROOTS) lock $(addprefix --platform=,$(TF_LOCK_PLATFORMS)) $(sort $(TF_ROOTS))

.PHONY: tf-plan-summary
tf-plan-summary: tf-env-check ## print ENV's saved plan's Markdown summary (GitHub job summary: what reviewers approve)
	@$(TFPLAN) summary $(TF_PLAN)

.PHONY: tf-plan-outputs
tf-plan-outputs: tf-env-check ## print sha256=... and changes=true|false of ENV's saved plan (for GITHUB_OUTPUT)
	@$(TFPLAN) outputs $(TF_PLAN)

.PHONY: tf-plan-check
tf-plan-check: tf-env-check ## check ENV's saved plan against its recorded SHA-256 (and TF_PLAN_SHA256); exit 3 if changed
	$(TFPLAN) verify $(TF_PLAN) $(TF_PLAN_HASH_ARG)

.PHONY: tf-apply
tf-apply: tf-env-check infra/backend.hcl ## apply ENV's saved plan infra/finlex[-ENV].tfplan if its hash checks out (never a new plan)
	$(TF_DATA)$(TF) -chdir=infra $(TF_INIT) $(TF_BACKEND_ARGS)
	$(TFPLAN) apply $(TF_PLAN) $(TF_PLAN_HASH_ARG)

.PHONY: tf-drift
tf-drift: tf-env-check infra/backend.hcl infra/terraform.tfvars ## plan ENV against the live account (no lock); fail with a summary if anything would change
	$(TF_DATA)$(TF) -chdir=infra $(TF_INIT) $(TF_BACKEND_ARGS)
	$(TFPLAN) drift $(TF_DRIFT_PLAN)$(if $(ENV), --$(TF_VAR_FILE_ARG))

.PHONY: tf-drift-summary
tf-drift-summary: tf-env-check ## print ENV's drift plan's Markdown summary (GitHub job summary)
	@$(TFPLAN) summary $(TF_DRIFT_PLAN)

# --- release (finlex-release; options and exit codes: release/README.md) ----
# Pipelines and laptops run the same steps, e.g.
#   make image push scan-gate deploy verify TAG=$(git rev-parse HEAD) URL=https://finlex.example.com
# make itself exits 2 whenever a recipe fails; the tool's own exit code is the N
# of make's "*** [Makefile:LINE: target] Error N" line.
# AWS_REGION empty = the SDK's default (profile or AWS_DEFAULT_REGION).
# RELEASE_ENV=release: the release targets run from $(RELEASE_VENV) (the deploy job);
# dev (the default): from .venv, which a laptop or CI has anyway.
RELEASE_ENV    ?= dev
RELEASE_READY   = $(if $(filter release,$(RELEASE_ENV)),$(RELEASE_VENV)/.installed,$(VENV)/.dev-installed)
RELEASE        := $(if $(filter release,$(RELEASE_ENV)),$(RELEASE_VENV),$(VENV))/bin/finlex-release
ECR_REPOSITORY ?= finlex
CLUSTER        ?= finlex
SERVICE        ?= finlex
# The app's container in the service's task definition: infra/ names it as the service (var.name,
# output container_name), so staging's is finlex-staging; the tool's own default is finlex.
TASK_CONTAINER ?= $(SERVICE)
URL            ?=
SCAN_ALLOWLIST ?= release/scan-allowlist.toml
REGION_ARG      = $(if $(AWS_REGION),--region $(call shell-quote,$(AWS_REGION)))
DEPLOY_BASE    ?=
DEPLOY_WAIT    ?=
ALLOW_HTTP     ?=
# PROBE_URL set: make deploy runs under `finlex-release probe --url PROBE_URL` (deploy.yml: the
# public URL): a failed request or a gap over 250 ms fails the deploy (release/README.md, probe).
PROBE_URL      ?=

# A release tag: an image tag (tag-check), not latest, not a test record's name.
.PHONY: release-tag-check
release-tag-check:
	@$(MAKEARGS) tag --release -- $(call shell-quote,$(TAG))

.PHONY: push
push: release-tag-check cpu-architecture-check $(RELEASE_READY) ## push the tested image IMAGE:TAG (IMAGE_ID) for the tasks' CPU to ECR as ECR_REPOSITORY:TAG; records it as tested
	@$(MAKEARGS) required -- $(call shell-quote,$(IMAGE_ID)) \
	  "make push: set IMAGE_ID, the ID of the image the tests ran (make image-save prints it): only a tested image is pushed"
	$(RELEASE) push $(REGION_ARG) --image $(call shell-quote,$(IMAGE):$(TAG)) --tested-id $(call shell-quote,$(IMAGE_ID)) \
	  --repository $(call shell-quote,$(ECR_REPOSITORY)) --tag $(call shell-quote,$(TAG)) \
	  --cluster $(call shell-quote,$(CLUSTER)) --service $(call shell-quote,$(SERVICE)) \
	  --cpu-architecture $(CPU_ARCHITECTURE) --docker $(call shell-quote,$(DOCKER)) $(if $(filter 1,$(KEEP_EXISTING)),--keep-existing)

# The Python dependencies the image installs (requirements/app.lock, hashed), audited by
# pip-audit against OSV's live advisories (OSV_URL: a mirror's query endpoint instead);
# CI runs it on GitHub, where OSV answers (ci.yml). Exit codes: release/README.md.
OSV_URL ?=

.PHONY: scan
scan: $(VENV)/.dev-installed ## pip-audit the image's hashed lock (requirements/app.lock); fail on any advisory not allowlisted
	$(BIN)/finlex-release audit-deps --requirements requirements/app.lock \
	  --allowlist '$(SCAN_ALLOWLIST)' $(if $(OSV_URL),--osv-url '$(OSV_URL)')

.PHONY: scan-gate
scan-gate: release-tag-check $(RELEASE_READY) ## wait for ECR's scan of ECR_REPOSITORY:TAG; fail on HIGH+ not allowlisted
	$(RELEASE) scan-gate $(REGION_ARG) --repository $(ECR_REPOSITORY) --image-tag $(TAG) \
	  --allowlist $(SCAN_ALLOWLIST)

.PHONY: deploy
deploy: release-tag-check $(RELEASE_READY) ## deploy the tested ECR_REPOSITORY:TAG by digest to CLUSTER/SERVICE from its running revision, follow it
	$(if $(PROBE_URL),$(RELEASE) probe --url $(call shell-quote,$(PROBE_URL)) --) \
	  $(RELEASE) deploy $(REGION_ARG) --cluster $(call shell-quote,$(CLUSTER)) --service $(call shell-quote,$(SERVICE)) \
	  --container-name $(call shell-quote,$(TASK_CONTAINER)) \
	  --image $(call shell-quote,$(ECR_REPOSITORY):$(TAG)) $(if $(DEPLOY_BASE),--base $(call shell-quote,$(DEPLOY_BASE))) \
	  $(if $(filter 1,$(DEPLOY_WAIT)),--wait)

# Every answer must come from the build of REVISION (the git revision `make image`
# bakes in, sent as X-Finlex-Revision). After a rollback, pass the revision that
# came back, or REVISION= to check version and health only.
.PHONY: verify
verify: $(RELEASE_READY) ## poll URL until healthy, on application/VERSION, every answer from build REVISION
	@$(MAKEARGS) required -- $(call shell-quote,$(URL)) "set URL, e.g. make verify URL=https://finlex.example.com"
	$(RELEASE) verify --url $(call shell-quote,$(URL)) --expected-revision $(call shell-quote,$(REVISION)) \
	  $(if $(filter 1,$(ALLOW_HTTP)),--allow-http)

.PHONY: rollback
rollback: $(RELEASE_READY) ## put back the revision the running one replaced (finlex:replaces tag), follow it
	$(RELEASE) rollback $(REGION_ARG) --cluster $(CLUSTER) --service $(SERVICE)

# Environments (release/README.md, verify-record and promote). verify-record writes
# DEPLOY_ENVIRONMENT's verification record of ECR_REPOSITORY:TAG (or @DIGEST) once CLUSTER/SERVICE
# runs it and URL answers from REVISION; it prints digest=... and record=... . promote deploys
# to CLUSTER/SERVICE (of DEPLOY_ENVIRONMENT) the digest PROMOTE_FROM verified, under the probe
# with PROBE_URL as deploy does.
DEPLOY_ENVIRONMENT ?= production
PROMOTE_FROM   ?= staging
DIGEST         ?=
PASSED         ?=
RELEASE_IMAGE   = $(if $(DIGEST),$(ECR_REPOSITORY)@$(DIGEST),$(ECR_REPOSITORY):$(TAG))

.PHONY: verify-record
verify-record: $(if $(DIGEST),,release-tag-check) $(RELEASE_READY) ## DEPLOY_ENVIRONMENT's service runs the image and URL answers from REVISION: write the verification record
	@$(MAKEARGS) required -- $(call shell-quote,$(URL)) "set URL, the environment's public URL"
	$(RELEASE) verify-record $(REGION_ARG) --environment $(call shell-quote,$(DEPLOY_ENVIRONMENT)) \
	  --cluster $(call shell-quote,$(CLUSTER)) --service $(call shell-quote,$(SERVICE)) \
	  --container-name $(call shell-quote,$(TASK_CONTAINER)) \
	  --image $(call shell-quote,$(RELEASE_IMAGE)) --url $(call shell-quote,$(URL)) \
	  --commit $(call shell-quote,$(REVISION)) $(if $(PASSED),--passed $(call shell-quote,$(PASSED))) \
	  $(if $(filter 1,$(ALLOW_HTTP)),--allow-http)

.PHONY: promote
promote: $(if $(DIGEST),,release-tag-check) $(RELEASE_READY) ## deploy to DEPLOY_ENVIRONMENT's CLUSTER/SERVICE the digest PROMOTE_FROM verified (DIGEST, or ECR_REPOSITORY:TAG)
	$(if $(PROBE_URL),$(RELEASE) probe --url $(call shell-quote,$(PROBE_URL)) --) \
	  $(RELEASE) promote $(REGION_ARG) --from $(call shell-quote,$(PROMOTE_FROM)) --to $(call shell-quote,$(DEPLOY_ENVIRONMENT)) \
	  --image $(call shell-quote,$(RELEASE_IMAGE)) --cluster $(call shell-quote,$(CLUSTER)) \
	  --service $(call shell-quote,$(SERVICE)) --container-name $(call shell-quote,$(TASK_CONTAINER)) \
	  $(if $(DEPLOY_BASE),--base $(call shell-quote,$(DEPLOY_BASE))) \
	  $(if $(filter 1,$(DEPLOY_WAIT)),--wait)

.PHONY: service-status
service-status: $(RELEASE_READY) ## task definition, deployments and target health of the service
	$(RELEASE) status $(REGION_ARG) --cluster $(CLUSTER) --service $(SERVICE)
