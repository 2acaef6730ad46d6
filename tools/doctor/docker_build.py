"""What `make image` and the container tests need: a Docker client with BuildKit, a
reachable engine with disk to spare, the base image in the local store, the CA bundle."""

from __future__ import annotations

import os
from pathlib import Path

import baseimage

from .machine import Machine, free_gb, version_tuple
from .result import Result

# The base image, the build stage and the final image, with room for a rebuild.
MIN_FREE_DOCKER_GB = 2.0
# Docker clients before 23.0 build with BuildKit themselves under DOCKER_BUILDKIT=1;
# from 23.0 on, BuildKit is the buildx plugin, and without it the client falls
# back to the legacy builder, which rejects the Dockerfile's RUN --mount.
FIRST_CLIENT_NEEDING_BUILDX = 23
CA_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def docker_client_version(m: Machine) -> str | None:
    result = m.run([m.docker, "version", "--format", "{{.Client.Version}}"])
    if result is None:
        return None
    text = result.stdout.strip().splitlines()
    return text[0] if text and version_tuple(text[0]) else None


def check_docker_client(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    if m.which(m.docker) is None:
        return Result(
            "docker client",
            goals,
            False,
            f"{m.docker!r} not on PATH",
            "install Docker (https://docs.docker.com/engine/install/) or Debian's docker.io",
        )
    version = docker_client_version(m)
    return Result("docker client", goals, True, f"{m.which(m.docker)} {version or '(version?)'}")


def has_buildkit(m: Machine, docker: str) -> tuple[bool, str]:
    buildx = m.run([docker, "buildx", "version"])
    if buildx is not None and buildx.returncode == 0:
        return True, f"buildx {buildx.stdout.split()[1] if buildx.stdout.split()[1:] else ''}"
    version = docker_client_version(Machine(env={**m.env, "DOCKER": docker}, run=m.run))
    parsed = version_tuple(version or "")
    if parsed and parsed[0] < FIRST_CLIENT_NEEDING_BUILDX:
        return True, f"client {version} builds with BuildKit itself (DOCKER_BUILDKIT=1)"
    return False, f"client {version or '?'} has no buildx plugin"


def check_buildkit(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    name = "BuildKit (buildx)"
    if m.which(m.docker) is None:
        return Result(name, goals, False, "no docker client", "install Docker first")
    ok, detail = has_buildkit(m, m.docker)
    if ok:
        return Result(name, goals, True, detail)
    fix = (
        "install the buildx plugin (Docker's apt repository: docker-buildx-plugin; "
        "Debian trixie: docker-buildx)"
    )
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"):
        if Path(candidate).exists() and candidate != m.which(m.docker):
            other_ok, _ = has_buildkit(m, candidate)
            if other_ok:
                fix += f", or use the client that has BuildKit: make image DOCKER={candidate}"
                break
    return Result(
        name,
        goals,
        False,
        f"{detail}: `docker build` uses the legacy builder, which rejects RUN --mount",
        fix,
    )


def check_engine(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    if m.which(m.docker) is None:
        return Result("docker engine", goals, False, "no docker client", "install Docker first")
    info = m.run([m.docker, "info", "--format", "{{.ServerVersion}} {{.DockerRootDir}}"])
    if info is None or info.returncode != 0:
        reason = "no answer" if info is None else (info.stderr.strip().splitlines() or ["?"])[-1]
        return Result(
            "docker engine",
            goals,
            False,
            f"not reachable ({reason[:120]})",
            "start the engine (systemctl start docker, or dockerd &), "
            "and make sure your user may use it (docker group)",
        )
    version, _, root = info.stdout.strip().partition(" ")
    return Result("docker engine", goals, True, f"{version} (data in {root or '?'})")


def check_engine_disk(m: Machine) -> Result | None:
    info = m.run([m.docker, "info", "--format", "{{.DockerRootDir}}"])
    if info is None or info.returncode != 0 or not info.stdout.strip():
        return None
    free = free_gb(Path(info.stdout.strip()))
    if free is None:
        return None  # a remote engine, or a root dir this user cannot stat
    goals = ("test", "image")
    detail = f"{free:.1f} GB free in the engine's data dir (needs {MIN_FREE_DOCKER_GB} GB)"
    if free >= MIN_FREE_DOCKER_GB:
        return Result("disk (docker)", goals, True, detail)
    return Result("disk (docker)", goals, False, detail, "docker system prune, or free disk space")


def check_base_image(m: Machine) -> Result:
    """The base the container tests build on: the Dockerfile's pin, or the BASE_IMAGE override."""
    goals = ("test",)
    dockerfile = m.repo / "Dockerfile"
    base = baseimage.in_use(m.env, dockerfile if dockerfile.exists() else baseimage.DOCKERFILE)
    probe = m.run([m.docker, "image", "inspect", "--format", "{{.Id}}", base])
    if probe is not None and probe.returncode == 0:
        return Result("base image", goals, True, f"{base} in the local store")
    return Result(
        "base image",
        goals,
        False,
        f"{base} is not in the local store (the container tests do not pull)",
        f"docker pull {base}; offline: .ci/base-image.sh trixie .cache/base-images, "
        f"then BASE_IMAGE={baseimage.STAND_IN}",
    )


def check_ca_bundle(m: Machine) -> Result:
    goals = ("image",)
    explicit = m.env.get("CA_BUNDLE", "")
    if explicit == "none":
        return Result("CA bundle", goals, True, "CA_BUNDLE=none: pip in the build uses its own CAs")
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.R_OK):
            return Result("CA bundle", goals, True, f"CA_BUNDLE={explicit} goes to pip as a secret")
        return Result(
            "CA bundle",
            goals,
            False,
            f"CA_BUNDLE={explicit} is not a readable file",
            "point CA_BUNDLE at the PEM bundle of your TLS-intercepting proxy",
        )
    custom = [(var, m.env[var]) for var in CA_ENV_VARS if m.env.get(var)]
    if custom:
        var, path = custom[0]
        return Result(
            "CA bundle",
            goals,
            False,
            f"pip here trusts {var}={path}, but the image build's pip would not",
            f"behind a TLS-intercepting proxy: make image CA_BUNDLE={path}; "
            "with direct access to PyPI: CA_BUNDLE=none",
        )
    return Result("CA bundle", goals, True, "none set (pip in the build uses its own CAs)")
