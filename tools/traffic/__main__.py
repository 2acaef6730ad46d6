"""``make rehearse-traffic``: real traffic through every kind of deployment of the real task.

The shipped image runs as N containers configured from the task definition
that Terraform renders; HAProxy, configured from the target group and the
load balancer, stands in for the ALB; ECS's sequences are played through
HAProxy's runtime API; finlex-release's probe keeps a fixed rate through it
and records every request. docs/traffic.md says what this proves and where it
differs from AWS.

Each scenario prints one line of figures beside the goals. The negative
controls run scenarios 1-6 again with one protection removed, and must show
failures. Every run writes results.json and one PNG timeline per scenario.

Exit codes: 0 every goal met and every control saw failures; 1 a goal missed,
a control saw none, or a scenario could not play out; 2 bad arguments; 3 the
machine lacks HAProxy, a Docker engine, the image, Terraform, or the port.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from types import FrameType
from typing import NoReturn

from finlex_release.errors import ReleaseError
from localhost import find_program
from traffic import report, scenarios, spec
from traffic.balancer import BalancerError
from traffic.ecs import ScenarioError
from traffic.tasks import Docker, DockerError

REPO = Path(__file__).resolve().parents[2]
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_MISSING = 3
# Scenarios whose goals apply are rerun under each control.
CONTROLLED = [name for name, s in scenarios.SCENARIOS.items() if s.goals_apply]


class MissingError(Exception):
    """A prerequisite of the machine is absent; the message names the fix."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rehearse-traffic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenarios", nargs="+", metavar="NAME", default=list(scenarios.SCENARIOS),
        help=f"scenarios to run (default: all): {', '.join(scenarios.SCENARIOS)}",
    )  # fmt: skip
    parser.add_argument(
        "--controls", nargs="*", metavar="NAME", default=scenarios.DEFAULT_CONTROLS,
        help=f"controls to run (default: {' '.join(scenarios.DEFAULT_CONTROLS)}; none: "
        f"--controls alone): {', '.join(scenarios.CONTROLS)}",
    )  # fmt: skip
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s (default: 200)")
    parser.add_argument(
        "--time-scale", type=float, default=0.1,
        help="every duration of Terraform's times this (default: 0.1; 1 = as in AWS)",
    )  # fmt: skip
    parser.add_argument("--image", default=os.environ.get("FINLEX_IMAGE", "finlex:latest"))
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"))
    parser.add_argument("--haproxy", default="haproxy", help="HAProxy binary (default: PATH's)")
    parser.add_argument("--port", type=int, default=18080, help="HAProxy's port on 127.0.0.1")
    parser.add_argument("--infra", type=Path, default=REPO / "infra")
    parser.add_argument(
        "--spec", type=Path,
        help="read the spec from this JSON (a spec.json of an earlier run) instead of Terraform",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=REPO / "build" / "traffic",
        help="results.json, spec.json and the timelines go here (default: build/traffic)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    unknown = [n for n in args.scenarios if n not in scenarios.SCENARIOS]
    unknown += [n for n in args.controls if n not in scenarios.CONTROLS]
    if unknown:
        known = ", ".join([*scenarios.SCENARIOS, *scenarios.CONTROLS])
        usage(f"unknown scenario or control {', '.join(unknown)}; known: {known}")
    if not 0 < args.rate <= 2000:
        usage(f"--rate {args.rate:g} must be above 0 and at most 2000")
    if not 0 < args.time_scale <= 1:
        usage(f"--time-scale {args.time_scale:g} must be above 0 and at most 1")
    if not 1024 <= args.port <= 65535:
        usage(f"--port {args.port} must be from 1024 to 65535")
    return args


def usage(message: str) -> NoReturn:
    print(f"rehearse-traffic: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def find_haproxy(name: str) -> str:
    found = find_program(name)
    if not found:
        raise MissingError(f"HAProxy ({name}) is not installed: apt-get install haproxy")
    return found


def port_free(port: int) -> None:
    with socket.socket() as sock:
        # As HAProxy binds: connections of an earlier run in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            raise MissingError(
                f"port 127.0.0.1:{port} is in use ({error.strerror}): pass --port"
            ) from None


def check_docker(docker: Docker) -> None:
    if not shutil.which(docker.binary):
        raise MissingError(f"no docker client {docker.binary!r}: install docker.io")
    try:
        docker.check_engine()
    except DockerError as error:
        raise MissingError(
            f"{error} (is dockerd running? is {docker.image} built: make image?)"
        ) from None


def load_spec(args: argparse.Namespace) -> spec.Spec:
    if args.spec:
        return spec.Spec.from_json(json.loads(args.spec.read_text()))
    print(f"reading the task, target group and service from Terraform ({args.infra.name}/) ...")
    began = time.monotonic()
    found = spec.from_terraform(args.infra)
    print(f"  done in {time.monotonic() - began:.0f} s")
    return found


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    docker = Docker(args.docker, args.image, f"finlex-traffic-{uuid.uuid4().hex[:6]}")
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        binary = find_haproxy(args.haproxy)
        port_free(args.port)
        check_docker(docker)
        full = load_spec(args)
    except MissingError as error:
        print(f"rehearse-traffic: {error}", file=sys.stderr)
        return EXIT_MISSING
    except (spec.SpecError, OSError, ValueError, KeyError) as error:
        print(f"rehearse-traffic: cannot read the spec: {error}", file=sys.stderr)
        return EXIT_MISSING
    scaled = full.scaled(args.time_scale)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spec.json").write_text(json.dumps(full.to_json(), indent=1) + "\n")
    bench = scenarios.Bench(scaled, docker, binary, args.port, args.out, args.rate)
    print(
        f"{args.rate:g} requests/s through HAProxy on 127.0.0.1:{args.port}; durations x "
        f"{args.time_scale:g}: health check every {scaled.health_check.interval:g} s, "
        f"deregistration delay {scaled.deregistration_delay:g} s, pre-stop "
        f"{scaled.prestop_delay:g} s, stop timeout {scaled.container.stop_timeout:g} s"
    )
    groups = [(scenarios.SHIPPED, [scenarios.SCENARIOS[name] for name in args.scenarios])]
    for control in args.controls:
        chosen = [scenarios.SCENARIOS[name] for name in args.scenarios if name in CONTROLLED]
        groups.append((scenarios.CONTROLS[control], chosen))
    verdicts: list[report.Verdict] = []
    began = time.monotonic()
    try:
        for control, chosen in groups:
            if not chosen:
                continue
            with scenarios.service(bench, control) as cluster:
                for scenario in chosen:
                    label = scenario.name + (f" [{control.name}]" if control.name else "")
                    print(f"  ... {label}", flush=True)
                    found = report.verdict(scenarios.run(scenario, bench, cluster, control))
                    verdicts.append(found)
                    stem = found.name.replace(" [", "-").rstrip("]")
                    report.timeline(found, args.out / f"{stem}.png")
                    print(f"  {report.line(found)}", flush=True)
    except KeyboardInterrupt:
        print("rehearse-traffic: interrupted; containers and HAProxy removed", file=sys.stderr)
        return EXIT_FAILED
    except (ScenarioError, DockerError, BalancerError, ReleaseError, AssertionError) as error:
        print(f"rehearse-traffic: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        docker.remove_all()
    return summarize(verdicts, args, scaled, time.monotonic() - began)


def summarize(
    verdicts: list[report.Verdict], args: argparse.Namespace, scaled: spec.Spec, seconds: float
) -> int:
    shipped = [v for v in verdicts if not v.result.control]
    missed = [v.name for v in shipped if not v.passed]
    blind = []
    for control in args.controls:
        seen = sum(v.figures.failed for v in verdicts if v.result.control == control)
        description = scenarios.CONTROLS[control].description
        print(f"control {control}: {seen} failed requests ({description})")
        if seen == 0 and scenarios.CONTROLS[control].negative:
            blind.append(control)
    report.write_json(
        verdicts,
        args.out / "results.json",
        {"rate": args.rate, "time_scale": args.time_scale, "spec": scaled.to_json()},
    )
    (args.out / "results.md").write_text(report.markdown(verdicts))
    print(f"results: {args.out}/results.json, results.md and one PNG per scenario; {seconds:.0f} s")
    if missed:
        print(f"goals missed: {', '.join(missed)}")
    if blind:
        print(f"controls that saw no failure: {', '.join(blind)}")
    return EXIT_FAILED if missed or blind else 0


if __name__ == "__main__":
    sys.exit(main())
