# finlex API image.
#
#   docker build -t finlex:latest .
#   docker run -d -p 5000:5000 finlex
#
# Behind a TLS-intercepting proxy, pass the proxy's CA bundle as a BuildKit
# secret; it is mounted for the pip step only and never stored in a layer:
#   DOCKER_BUILDKIT=1 docker build --secret id=cabundle,src=/path/to/ca-bundle.crt -t finlex:latest .
# `make image` also sets the OCI labels (version from application/VERSION, git revision).

# Pipelines can pin the base by digest: --build-arg BASE_IMAGE=debian:trixie-slim@sha256:...
ARG BASE_IMAGE=debian:trixie-slim

# --- build: a virtual environment with the locked runtime dependencies -------
FROM ${BASE_IMAGE} AS build

# Debian stable's security updates arrive under the same package names; the
# base image tag pins the release, so package versions are left to it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

COPY requirements/app.lock /tmp/app.lock
RUN --mount=type=secret,id=cabundle \
    if [ -s /run/secrets/cabundle ]; then export PIP_CERT=/run/secrets/cabundle; fi \
    && python3 -m venv /opt/venv \
    && { /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps --only-binary=:all: -r /tmp/app.lock \
        || { echo "pip failed. CERTIFICATE_VERIFY_FAILED means a TLS-intercepting proxy: pass its CA bundle, make image CA_BUNDLE=/path/to/ca.crt (README: Troubleshooting the image build)" >&2; exit 1; }; } \
    && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check pip

COPY application/ /app/
RUN /opt/venv/bin/python -m compileall -q /app

# --- runtime: Debian's Python, the venv and the app; no pip, no compilers ----
FROM ${BASE_IMAGE}

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
COPY --from=build /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FINLEX_REVISION=${REVISION} \
    FINLEX_PORT=5000

WORKDIR /app
# The only writable path under a read-only root filesystem. Declared as a
# volume so that ECS Fargate seeds the task's /tmp volume from the image's
# /tmp (mode 1777) instead of creating it root-owned 0755.
VOLUME ["/tmp"]
USER 10001:10001
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python3", "/app/healthcheck.py"]

# serve.py runs Granian's main process itself, so the server is PID 1 and receives SIGTERM.
CMD ["python3", "serve.py"]
