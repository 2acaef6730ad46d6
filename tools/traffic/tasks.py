"""Tasks: containers of the shipped image, run as the task definition says.

Each task is `docker run --network host` on its own 127.0.0.1 port (Fargate
gives each task its own address and the same port; here the port differs and
FINLEX_PORT says which). Everything else comes from the container definition:
user, read-only root with a writable /tmp, environment, CPU and memory, health
check, stop timeout. Every container carries the run's label, so that
`remove_all` finds what a run left even after an interrupt.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from traffic.spec import Container

LABEL = "finlex.traffic-run"
# The file whose existence makes the container's health check fail (scenario 5).
FAULT_FILE = "/tmp/finlex-health-fault"  # noqa: S108 - inside the container


class DockerError(Exception):
    """A docker command failed; the message is docker's own first line."""


@dataclass
class Docker:
    binary: str
    image: str
    run_id: str

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            [self.binary, *args], capture_output=True, text=True, check=False, timeout=timeout
        )
        if check and result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise DockerError(f"docker {args[0]}: {lines[0] if lines else result.returncode}")
        return result.stdout

    def check_engine(self) -> None:
        self._run("version", "--format", "{{.Server.Version}}", timeout=20)
        self._run("image", "inspect", "--format", "{{.Id}}", self.image, timeout=20)

    def start(self, name: str, port: int, container: Container, env: Mapping[str, str]) -> None:
        """`docker run -d` one task: the definition's settings, `env` over its environment."""
        environment = {**container.environment, **env, "FINLEX_PORT": str(port)}
        health = f"test ! -e {FAULT_FILE} && {shlex.join(container.health_command)}"
        args = [
            "run", "--detach", "--name", name, "--label", f"{LABEL}={self.run_id}",
            "--network", "host",
            "--user", container.user,
            "--cpus", f"{container.cpu_units / 1024:g}",
            "--memory", f"{container.memory_mib}m",
            "--stop-timeout", str(round(container.stop_timeout)),
            "--health-cmd", health,
            "--health-interval", _seconds(container.health_interval),
            "--health-timeout", _seconds(container.health_timeout),
            "--health-retries", str(container.health_retries),
            "--health-start-period", _seconds(container.health_start_period),
        ]  # fmt: skip
        if container.read_only:
            args += ["--read-only", "--tmpfs", "/tmp:rw,mode=1777"]  # noqa: S108 - the task's volume
        for key in sorted(environment):
            args += ["--env", f"{key}={environment[key]}"]
        self._run(*args, self.image)

    def states(self, names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """name -> (state, health): ("running", "healthy"), ("exited", ""), ..."""
        wanted = list(names)
        if not wanted:
            return {}
        out = self._run("inspect", *wanted, check=False)
        found: dict[str, tuple[str, str]] = {}
        for item in json.loads(out or "[]"):
            state = item.get("State", {})
            health = (state.get("Health") or {}).get("Status", "")
            found[item["Name"].lstrip("/")] = (state.get("Status", ""), health)
        return found

    def stop(self, name: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds (ECS's StopTask)."""
        self._run("stop", "--time", str(round(timeout)), name, timeout=timeout + 60)

    def kill(self, name: str) -> None:
        self._run("kill", "--signal", "KILL", name)

    def fault(self, name: str) -> None:
        """Make the container's health check fail from now on; serving goes on."""
        self._run("exec", name, "touch", FAULT_FILE)

    def exit_code(self, name: str) -> int:
        return int(self._run("inspect", "--format", "{{.State.ExitCode}}", name).strip())

    def remove_all(self) -> int:
        """Remove every container of this run, running or not; how many there were."""
        names = self._run(
            "ps", "--all", "--quiet", "--filter", f"label={LABEL}={self.run_id}", check=False
        ).split()
        if names:
            self._run("rm", "--force", *names, check=False)
        return len(names)


def _seconds(value: float) -> str:
    return f"{max(1, round(value * 1000))}ms"
