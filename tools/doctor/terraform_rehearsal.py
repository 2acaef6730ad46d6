"""What the Terraform tests and `make rehearse` need: Terraform, the hashicorp/aws
provider (a mirror or the registry), and moto in the dev venv."""

from __future__ import annotations

import json

import tfmirror

from .machine import Machine, version_tuple
from .result import Result

MIN_TERRAFORM = (1, 10)


def check_terraform(m: Machine) -> Result:
    goals = ("test", "rehearse", "deploy")
    fix = "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)"
    path = m.which(m.env.get("TF") or "terraform")
    if path is None:
        return Result("terraform", goals, False, "not on PATH", fix)
    result = m.run([path, "version", "-json"])
    version = ""
    if result is not None and result.returncode == 0:
        try:
            version = str(json.loads(result.stdout).get("terraform_version", ""))
        except ValueError:
            version = ""
    parsed = version_tuple(version)
    if parsed[:2] >= MIN_TERRAFORM:
        return Result("terraform", goals, True, f"{path} {version}")
    return Result("terraform", goals, False, f"{path} {version or '(version?)'} is too old", fix)


def check_provider_mirror(m: Machine) -> Result:
    """A filesystem mirror, or the registry under the lock (tools/tfmirror.py's lookup).

    Probes the registry with one HTTPS GET (a few seconds at most) only when
    no mirror is found; downloads nothing.
    """
    goals = ("test", "rehearse")
    name = "hashicorp/aws provider"
    lock = m.repo / tfmirror.LOCK_FILE.relative_to(tfmirror.REPO)
    found = tfmirror.source(
        m.env,
        system=m.terraform_dirs,
        opt=m.opt,
        cache=m.repo / tfmirror.CACHE.relative_to(tfmirror.REPO),
        lock=lock,
        reachable=m.registry,
    )
    if found is None:
        reason, fix = tfmirror.why_missing(m.env, lock)
        return Result(name, goals, False, reason, fix)
    if not found.registry:
        versions = ", ".join(tfmirror.versions(found.mirror))
        return Result(name, goals, True, f"{found.mirror} ({versions})")
    if found.ready:
        return Result(name, goals, True, found.describe())
    return Result(
        name,
        goals,
        True,
        f"no mirror; {tfmirror.REGISTRY} answers: make rehearse downloads "
        f"{found.version} under the lock into {found.mirror}",
    )


def check_moto(m: Machine) -> Result:
    goals = ("rehearse",)
    found = sorted(m.repo.glob(".venv/lib/python3*/site-packages/moto/__init__.py"))
    if found:
        return Result("moto (dev venv)", goals, True, str(found[0].parents[0].relative_to(m.repo)))
    return Result(
        "moto (dev venv)", goals, False, "not installed in .venv", "make venv (installs the locks)"
    )
