"""Runtime configuration of the finlex API, read from environment variables.

Every setting has a sane default, so the service starts with no environment
at all. A bad value stops start-up with one clear line instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# Default bound, in seconds, on a graceful shutdown after SIGTERM. The infra
# reads this value: the ALB deregistration delay and the ECS stopTimeout must
# both exceed it.
DEFAULT_GRACEFUL_TIMEOUT = 10

# Seconds the server keeps an idle keep-alive connection open. A load balancer
# must give up on an idle connection before its target does, or it may reuse
# one the target is closing and answer 502: the infra sets the server's value
# from the ALB's idle timeout plus a margin (KEEPALIVE_MARGIN). This default is
# the server's maximum (Granian's header-read limit). It equals, so does not
# exceed, an ALB's own default idle timeout (60 s): hence the infra's
# alb_idle_timeout defaults to 55 and refuses more (55 + 5 = this default).
DEFAULT_KEEPALIVE_TIMEOUT = 60
MAX_KEEPALIVE_TIMEOUT = 60
KEEPALIVE_MARGIN = 5

# Seconds the server keeps serving after SIGTERM while /healthz answers 503, so
# that a load balancer still routing to it sees the failed checks and stops
# routing before the server stops accepting (see serve.py). 0 by default: a
# laptop's `docker stop`, Ctrl-C and `make run` stop at once, as before; the
# infra sets it from the target group's health check (interval x unhealthy
# threshold + a margin, modules/ecs_cluster's local.prestop_delay).
DEFAULT_PRESTOP_DELAY = 0

# The marker file whose existence tells every worker that the server is
# stopping (serve.py creates it; /healthz then answers 503). Internal: set by
# serve.py for its own workers, not a setting.
STOPPING_FILE_ENV = "FINLEX_STOPPING_FILE"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"  # noqa: S104 - a container must listen on all interfaces
    port: int = 5000
    workers: int = 2
    threads: int = 4
    log_level: str = "info"
    graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT
    max_body_bytes: int = 64 * 1024
    keepalive_timeout: int = DEFAULT_KEEPALIVE_TIMEOUT
    revision: str = "unknown"
    prestop_delay: int = DEFAULT_PRESTOP_DELAY


# name -> (field, description); the README's configuration table mirrors this.
ENVIRONMENT = {
    "FINLEX_HOST": ("host", "address to listen on"),
    "FINLEX_PORT": ("port", "TCP port to listen on (1-65535)"),
    "FINLEX_WORKERS": ("workers", "server worker processes (1-64)"),
    "FINLEX_THREADS": ("threads", "request threads per worker (1-256)"),
    "FINLEX_LOG_LEVEL": ("log_level", "one of " + ", ".join(LOG_LEVELS)),
    "FINLEX_GRACEFUL_TIMEOUT": (
        "graceful_timeout",
        "seconds in-flight requests get after SIGTERM before workers are killed (1-110)",
    ),
    "FINLEX_PRESTOP_DELAY": (
        "prestop_delay",
        "seconds after SIGTERM during which /healthz answers 503 while every other "
        "request is still served, before the graceful stop (0-120; 0: stop at once)",
    ),
    "FINLEX_MAX_BODY_BYTES": (
        "max_body_bytes",
        "largest request body accepted, in bytes (0-104857600, i.e. up to 100 MiB)",
    ),
    "FINLEX_KEEPALIVE_TIMEOUT": (
        "keepalive_timeout",
        f"seconds an idle keep-alive connection stays open (1-{MAX_KEEPALIVE_TIMEOUT}); "
        "must exceed the load balancer's idle timeout",
    ),
    "FINLEX_REVISION": (
        "revision",
        "git revision of the build, sent in the X-Finlex-Revision header "
        "(the image sets it from the REVISION build argument)",
    ),
}
# A revision goes into a response header: letters, digits, ".", "_" and "-" only.
_REVISION = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

_RANGES = {
    "port": (1, 65535),
    "workers": (1, 64),
    "threads": (1, 256),
    # Fargate's stopTimeout is at most 120 s; the infra adds a margin above this.
    "graceful_timeout": (1, 110),
    # At most Fargate's stopTimeout (120 s), which the infra makes cover it.
    "prestop_delay": (0, 120),
    "max_body_bytes": (0, 100 * 1024 * 1024),
    "keepalive_timeout": (1, MAX_KEEPALIVE_TIMEOUT),
}


def _parse_int(name: str, raw: str, field: str) -> int:
    low, high = _RANGES[field]
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range ({low}-{high})")
    return value


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, (field, _description) in ENVIRONMENT.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        if field == "host":
            values[field] = raw.strip()
        elif field == "revision":
            if not _REVISION.match(raw.strip()):
                raise SettingsError(f"{name}={raw!r} must be 1-128 characters of A-Z a-z 0-9 . _ -")
            values[field] = raw.strip()
        elif field == "log_level":
            level = raw.strip().lower()
            if level not in LOG_LEVELS:
                raise SettingsError(f"{name}={raw!r} is not one of {', '.join(LOG_LEVELS)}")
            values[field] = level
        else:
            values[field] = _parse_int(name, raw, field)
    return Settings(**values)  # type: ignore[arg-type]
