# finlex API image.
#
#   docker build -t finlex:latest .
#   docker run -d -p 5000:5000 finlex
#
# Behind a TLS-intercepting proxy, pass the proxy's CA bundle as a BuildKit
# secret; it is mounted for the pip step only and never stored in a layer:
#   DOCKER_BUILDKIT=1 docker build --secret id=cabundle,src=/path/to/ca-bundle.crt -t finlex:latest .
# `make image` also sets the OCI labels (version from application/VERSION, git revision,
# the base image it was built on).

# The base: the official debian:trixie-slim multi-arch index (all platforms), pinned by
# digest on the FROM line of stage pinned-base, so that every build of a commit starts from
# the same bytes. Dependabot (.github/dependabot.yml, docker) and Renovate both read that
# literal line and propose each new digest as one change of it; where the digest came from
# and when: docs/supply-chain.md. A machine that reaches no registry passes its offline
# stand-in explicitly instead, and the build output names it (FROM ...); the unused pinned
# stage is then never resolved:
#   make image BASE_IMAGE=debian:trixie-slim        (.ci/run does so when it made one)
ARG BASE_IMAGE=pinned-base

FROM debian:trixie-slim@sha256:a99cfc517144bc59b1978475ec53b46ecabec7e43635402ee5b77cc54cd1b20a AS pinned-base

FROM ${BASE_IMAGE} AS base

# --- build: a virtual environment with the locked runtime dependencies -------
FROM base AS build

# Debian stable's security updates arrive under the same package names; the
# base image pins the release, so package versions are left to it.
# python3-setuptools builds the service's wheel; it stays in this stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-setuptools \
    && rm -rf /var/lib/apt/lists/*

COPY requirements/app.lock /tmp/app.lock
RUN --mount=type=secret,id=cabundle \
    if [ -s /run/secrets/cabundle ]; then export PIP_CERT=/run/secrets/cabundle; fi \
    && python3 -m venv /opt/venv \
    && { /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps --only-binary=:all: -r /tmp/app.lock \
        || { echo "pip failed. CERTIFICATE_VERIFY_FAILED means a TLS-intercepting proxy: pass its CA bundle, make image CA_BUNDLE=/path/to/ca.crt (README: Troubleshooting the image build)" >&2; exit 1; }; }

# The service, application/ (the finlex_api package): built into a wheel by Debian's
# setuptools (a throwaway venv that sees it), installed into /opt/venv with its bytecode
# and the finlex-api command; then /opt/venv's own pip goes.
COPY application/ /src/application/
RUN python3 -m venv --system-site-packages /opt/builder \
    && /opt/builder/bin/pip wheel --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation --no-index --wheel-dir /tmp/wheels /src/application \
    && /opt/venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-index \
        /tmp/wheels/finlex_api-*.whl \
    && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check pip

# --- runtime: Debian's Python, the venv and the app; no pip, no compilers ----
FROM base

ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="finlex" \
      org.opencontainers.image.description="The finlex API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 10001 finlex \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin finlex

COPY --from=build /opt/venv /opt/venv
COPY application/healthcheck.sh /app/healthcheck.sh

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FINLEX_REVISION=${REVISION} \
    FINLEX_PORT=5000

# /app holds the container probe; the service itself is the package in /opt/venv.
WORKDIR /app
# The only writable path under a read-only root filesystem. Declared as a
# volume so that ECS Fargate seeds the task's /tmp volume from the image's
# /tmp (mode 1777) instead of creating it root-owned 0755.
VOLUME ["/tmp"]
USER 10001:10001
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "/app/healthcheck.sh"]

# finlex-api (finlex_api/serve.py) runs Granian's main process itself, so the server is
# PID 1 and receives SIGTERM.
CMD ["finlex-api"]
