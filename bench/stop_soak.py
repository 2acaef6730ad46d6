"""Stop the server N times right after its first answered request; print the worst stop.

Each round starts the server (finlex-api on the host, or the image with --image),
waits for GET /version to answer, sends SIGTERM (`docker stop` for the image)
and times the exit. A round fails when it takes STOP_BOUND_S or more or the
exit code is not 0 (137 means Docker had to SIGKILL it).

Usage: python bench/stop_soak.py [--count 50] [--image finlex:latest]
Exit code: 0 when every round passed, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid

from serve_bench import (
    APPLICATION,
    DEFAULT_DOCKER,
    PATH,
    SERVER,
    STOP_BOUND_S,
    container_running,
    free_port,
    stop_after_start,
    wait_for,
)

KILL_TIMEOUT_S = 30  # what `docker stop -t` allows before SIGKILL; far above the bound


def stop_host() -> tuple[float, int]:
    port = free_port()
    env = {"FINLEX_HOST": "127.0.0.1", "FINLEX_PORT": str(port)}
    argv = [SERVER]
    elapsed, code, log = stop_after_start(argv, port, env, APPLICATION, KILL_TIMEOUT_S)
    if elapsed >= STOP_BOUND_S or code != 0:
        print(log, file=sys.stderr)
    return elapsed, code


def stop_container(image: str, docker: str) -> tuple[float, int]:
    port = free_port()
    name = f"finlex-soak-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(
            [docker, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5000", image],
            capture_output=True, text=True, check=True,
        )  # fmt: skip

        wait_for(f"http://127.0.0.1:{port}{PATH}", container_running(docker, name))
        started = time.monotonic()
        subprocess.run(
            [docker, "stop", "-t", str(KILL_TIMEOUT_S), name], capture_output=True, check=True
        )
        elapsed = time.monotonic() - started
        state = subprocess.run(
            [docker, "inspect", "--format", "{{json .State}}", name],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return elapsed, int(json.loads(state.stdout)["ExitCode"])
    finally:
        subprocess.run([docker, "rm", "--force", name], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="rounds (default 50)")
    parser.add_argument(
        "--image", help="stop this image in a container instead of finlex-api on the host"
    )
    parser.add_argument(
        "--docker", default=DEFAULT_DOCKER, help="docker client (default: $DOCKER, else docker)"
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    where = f"image {args.image}" if args.image else "finlex-api on the host"
    times: list[float] = []
    failed = 0
    for round_ in range(1, args.count + 1):
        elapsed, code = stop_container(args.image, args.docker) if args.image else stop_host()
        times.append(elapsed)
        bad = elapsed >= STOP_BOUND_S or code != 0
        failed += bad
        print(f"stop {round_:3d}: {elapsed:5.2f} s, exit {code}{'  <-- FAIL' if bad else ''}")
    print(
        f"{where}: {args.count} stops, worst {max(times):.2f} s, median "
        f"{sorted(times)[len(times) // 2]:.2f} s, {failed} over {STOP_BOUND_S:g} s or not exit 0"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
