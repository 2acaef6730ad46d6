"""finlex-release: the one release CLI for pipelines and laptops.

Every command prints progress on stderr, results on stdout, and ends with an
exit code from errors.Exit; a problem is one line on stderr, never a traceback.
Ctrl-C and SIGTERM end it with one line too, naming a deployment still in progress.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from finlex_release import (
    allowlist,
    deploy,
    deps_audit,
    ecr_login,
    image_exists,
    images,
    probe,
    promote,
    push,
    scan_gate,
    verify,
)
from finlex_release.aws import ClientFactory, aws_errors, client_factory
from finlex_release.errors import EXIT_TABLE, Exit, ReleaseError
from finlex_release.waiting import Clock, Progress

PROG = "finlex-release"
DESCRIPTION = """\
The one release CLI for pipelines and laptops: progress on stderr, results on
stdout, every failure one line on stderr with an exit code from the table below."""
# Upper bound of every duration option: one day. Larger values (or inf) would
# overflow sleeps and socket timeouts after AWS calls had already run.
MAX_SECONDS = 24 * 3600.0
Runner = Callable[[argparse.Namespace, "Context"], None]


@dataclass
class Context:
    """What commands get from outside; tests replace any part of it."""

    clients: ClientFactory | None = None
    clock: Clock = field(default_factory=Clock)
    today: Callable[[], dt.date] = allowlist.utc_today
    out: TextIO = field(default_factory=lambda: sys.stdout)
    progress: Progress = field(default_factory=Progress)
    cwd: Callable[[], Path] = Path.cwd
    # The wait of deploy/rollback, so that an interrupt can name its deployment.
    follow: deploy.Follow | None = None


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"{self.prog}: {message} (see --help)\n")


def _positive(text: str) -> float:
    """A duration in seconds: a finite number above 0 and at most MAX_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value) or not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too long: at most {MAX_SECONDS:g} seconds (one day)"
        )
    return value


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 1 and 100")
    return value


def _version() -> str:
    try:
        return importlib.metadata.version("finlex-release")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _epilog() -> str:
    rows = "\n".join(f"  {int(code)}  {text}" for code, text in EXIT_TABLE.items())
    return f"exit codes:\n{rows}"


def _aws(args: argparse.Namespace, context: Context) -> ClientFactory:
    return context.clients or client_factory(args.region)


def _wait(args: argparse.Namespace, context: Context) -> deploy.Follow:
    context.follow = deploy.Follow(
        timeout=args.timeout, interval=args.interval, clock=context.clock, progress=context.progress
    )
    return context.follow


def run_scan_gate(args: argparse.Namespace, context: Context) -> None:
    if args.image is not None:
        if args.repository or args.image_digest or args.image_tag:
            raise ReleaseError(
                "give --image or --repository with --image-digest/--image-tag, not both",
                Exit.USAGE,
            )
        ref = images.parse(args.image)
    elif args.repository and (args.image_digest or args.image_tag):
        ref = images.digest_ref(args.repository, args.image_digest, args.image_tag)
    else:
        raise ReleaseError(
            "name the image: --image REF, or --repository with --image-digest or --image-tag",
            Exit.USAGE,
        )
    rules = allowlist.load(args.allowlist, context.today()) if args.allowlist else allowlist.EMPTY
    ecr = _aws(args, context)("ecr")
    image = images.resolve(ecr, ref)
    scan_gate.wait_for_scan(
        ecr,
        image,
        timeout=args.timeout,
        interval=args.interval,
        clock=context.clock,
        progress=context.progress,
        start_scan=args.start_scan,
    )
    scan_gate.gate(
        ecr,
        image,
        threshold=args.threshold,
        allowlist=rules,
        today=context.today(),
        unknown_as=args.unknown_severity_as,
        out=context.out,
        progress=context.progress,
    )


def run_deploy(args: argparse.Namespace, context: Context) -> None:
    ref = images.parse(args.image)
    clients = _aws(args, context)
    ecr = clients("ecr")
    images.check_region(ref, getattr(getattr(ecr, "meta", None), "region_name", None))
    deploy.deploy(
        clients("ecs"),
        ecr,
        cluster=args.cluster,
        service=args.service,
        image=ref,
        container=args.container_name,
        wait=_wait(args, context),
        out=context.out,
        elbv2=clients("elbv2"),
        base=args.base,
        family=args.family,
        wait_for_others=args.wait,
    )


def run_rollback(args: argparse.Namespace, context: Context) -> None:
    clients = _aws(args, context)
    deploy.rollback(
        clients("ecs"),
        cluster=args.cluster,
        service=args.service,
        to=args.to,
        wait=_wait(args, context),
        out=context.out,
        elbv2=clients("elbv2"),
    )


def run_status(args: argparse.Namespace, context: Context) -> None:
    clients = _aws(args, context)
    deploy.status(
        clients("ecs"),
        cluster=args.cluster,
        service=args.service,
        out=context.out,
        elbv2=clients("elbv2"),
        require_healthy=args.require_healthy,
    )


def run_verify(args: argparse.Namespace, context: Context) -> None:
    # Every input is checked before the first line of progress.
    base = verify.base_url(args.url, allow_http=args.allow_http)
    verify.check_path(args.health_path)
    verify.check_path(args.version_path)
    expected = verify.Expected(
        verify.expected_version(args.expected_version, args.version_file, context.cwd()),
        verify.expected_revision(args.expected_revision),
    )
    revision = f", revision {expected.revision}" if expected.revision else ""
    context.progress(f"verifying {base} reports version {expected.version}{revision}")
    verify.verify(
        base,
        expected,
        health_path=args.health_path,
        version_path=args.version_path,
        timeout=args.timeout,
        interval=args.interval,
        max_interval=args.max_interval,
        request_timeout=args.request_timeout,
        rounds=args.rounds,
        allow_http=args.allow_http,
        clock=context.clock,
        progress=context.progress,
        out=context.out,
    )


def run_ecr_login(args: argparse.Namespace, context: Context) -> None:
    ecr_login.login(
        _aws(args, context)("ecr"),
        docker=args.docker,
        registry_id=args.registry_id,
        out=context.out,
        progress=context.progress,
    )


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", required=True, help="ECS cluster name or ARN")
    parser.add_argument("--service", required=True, help="ECS service name or ARN")


def _wait_options(parser: argparse.ArgumentParser, timeout: float, interval: float) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=timeout,
        help=f"give up after this many seconds (default {timeout:g})",
    )
    parser.add_argument(
        "--interval",
        type=_positive,
        default=interval,
        help=f"seconds between polls (default {interval:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(prog=PROG, description=DESCRIPTION, epilog=_epilog(), formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    aws = Parser(add_help=False)
    aws.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Runner, summary: str, *, uses_aws: bool = True) -> Parser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_epilog(),
            formatter_class=formatter,
            parents=[aws] if uses_aws else [],
        )
        sub.set_defaults(run=run)
        return sub

    scan = command(
        "scan-gate",
        run_scan_gate,
        "Wait for ECR's scan of an image (by digest) and fail on findings at or above a severity.",
    )
    scan.add_argument("--image", help="repo:tag, repo@sha256:..., or a full ECR image URI")
    scan.add_argument("--repository", help="ECR repository name")
    pinned = scan.add_mutually_exclusive_group()
    pinned.add_argument("--image-digest", help="sha256:... (with --repository)")
    pinned.add_argument("--image-tag", help="tag, resolved to its digest (with --repository)")
    scan.add_argument(
        "--threshold",
        choices=scan_gate.SEVERITIES,
        default="HIGH",
        help="block findings at or above this severity (default HIGH)",
    )
    scan.add_argument(
        "--allowlist", type=Path, help="TOML file of allowed findings (release/README.md)"
    )
    scan.add_argument(
        "--unknown-severity-as",
        choices=scan_gate.SEVERITIES,
        default=scan_gate.DEFAULT_UNKNOWN_AS,
        help="rank UNDEFINED/UNTRIAGED findings as this (default HIGH: fail closed)",
    )
    scan.add_argument(
        "--start-scan",
        action="store_true",
        help="start a basic scan if the image has none (without: wait for scan on push)",
    )
    _wait_options(scan, timeout=900.0, interval=10.0)

    dep = command(
        "deploy",
        run_deploy,
        "Register a copy of the revision the service runs with a new, tested image (pinned "
        "by digest), update the service and follow that deployment until COMPLETED.",
    )
    _service_options(dep)
    dep.add_argument(
        "--image",
        required=True,
        help="repo:tag, repo@sha256:..., or ECR image URI; its digest must carry a test record",
    )
    dep.add_argument(
        "--container-name",
        default=deploy.DEFAULT_CONTAINER,
        help=f"container whose image is replaced (default {deploy.DEFAULT_CONTAINER})",
    )
    dep.add_argument(
        "--base",
        help="family:revision or ARN to copy instead of the running revision (e.g. "
        "Terraform's newer one)",
    )
    dep.add_argument(
        "--family",
        help="task-definition family the base must belong to (default: the service's name)",
    )
    dep.add_argument(
        "--wait",
        action="store_true",
        help="wait (up to --timeout) for a deployment in progress instead of refusing",
    )
    _wait_options(dep, timeout=deploy.DEFAULT_TIMEOUT, interval=deploy.DEFAULT_INTERVAL)

    back = command(
        "rollback",
        run_rollback,
        "Put back the revision the running one replaced (its finlex:replaces tag; without "
        "the tag, the previous ACTIVE revision) and follow that deployment.",
    )
    _service_options(back)
    back.add_argument(
        "--to",
        help="family:revision or ARN to roll back to (default: the one the running revision "
        "replaced)",
    )
    _wait_options(back, timeout=deploy.DEFAULT_TIMEOUT, interval=deploy.DEFAULT_INTERVAL)

    stat = command(
        "status", run_status, "Show the service's task definition, deployments and target health."
    )
    _service_options(stat)
    stat.add_argument(
        "--require-healthy",
        action="store_true",
        help="exit 1 unless every load balancer target is healthy",
    )

    ver = command(
        "verify",
        run_verify,
        "Poll the public URL until the health endpoint answers 200 and the version endpoint "
        "reports the expected version (and, with --expected-revision, every answer comes "
        "from that build).",
        uses_aws=False,
    )
    ver.add_argument("--url", required=True, help="base URL, e.g. https://finlex.example.com")
    ver.add_argument(
        "--allow-http",
        action="store_true",
        help="accept a plain http:// URL (local servers); without it, https only",
    )
    ver.add_argument("--expected-version", help="default: the content of the version file")
    ver.add_argument(
        "--expected-revision",
        help=f"git revision every answer must carry in its {verify.REVISION_HEADER} header "
        "(the build's REVISION); empty or absent: not checked",
    )
    ver.add_argument(
        "--version-file",
        type=Path,
        help=f"file holding the expected version (default: {verify.VERSION_FILE} "
        "in the current directory or its nearest parent that has one)",
    )
    ver.add_argument("--version-path", default=verify.DEFAULT_VERSION_PATH, help="%(default)s")
    ver.add_argument("--health-path", default=verify.DEFAULT_HEALTH_PATH, help="%(default)s")
    _wait_options(ver, timeout=300.0, interval=2.0)
    ver.add_argument(
        "--max-interval",
        type=_positive,
        default=15.0,
        help="cap of the doubling pause between attempts (default 15)",
    )
    ver.add_argument(
        "--request-timeout",
        type=_positive,
        default=5.0,
        help="seconds per HTTP request, the whole exchange (default 5)",
    )
    ver.add_argument(
        "--rounds",
        type=_rounds,
        default=verify.DEFAULT_ROUNDS,
        help="requests to each endpoint per attempt, all of which must be right "
        f"(default {verify.DEFAULT_ROUNDS})",
    )

    login = command(
        "ecr-login",
        run_ecr_login,
        "docker login to the ECR registry (password on stdin); print the registry host.",
    )
    login.add_argument("--registry-id", help="AWS account ID of the registry (default: yours)")
    login.add_argument("--docker", default="docker", help="docker command (default docker)")
    image_exists.register(command)
    deps_audit.register(command)
    probe.register(command)
    push.register(command)
    promote.register(command, _positive)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread by the handler)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into Terminated while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        # None: a handler installed outside Python; the default is the best we can restore.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _interrupted(how: str, context: Context) -> str:
    in_flight = context.follow.in_flight if context.follow else None
    if in_flight is not None:
        return f"{how}; {in_flight.describe()}"
    if context.follow is not None:
        return f"{how}; no deployment of this run is in progress"
    return how


def main(argv: Sequence[str] | None = None, context: Context | None = None) -> int:
    args = build_parser().parse_args(argv)
    context = context or Context()
    try:
        with _sigterm_raises():
            try:
                with aws_errors():
                    args.run(args, context)
            except ReleaseError as error:
                message = " ".join(error.message.split())
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(error.code)
            except KeyboardInterrupt:
                message = _interrupted("interrupted (Ctrl-C)", context)
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(Exit.INTERRUPTED)
            except Terminated:
                message = _interrupted("terminated (SIGTERM)", context)
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(Exit.TERMINATED)
    except Terminated:  # a second SIGTERM while the first was reported
        return int(Exit.TERMINATED)
    return int(Exit.OK)


if __name__ == "__main__":
    sys.exit(main())
