"""``make rehearse``: apply, deploy, roll back and destroy finlex on an emulated AWS account.

Real Terraform and the real hashicorp/aws provider run against moto on
loopback; the release tool runs under the deploy role's own IAM policy. See
docs/rehearsal.md for what this proves and what it cannot.

The provider comes from a filesystem mirror when the machine has one, else
from registry.terraform.io under infra/.terraform.lock.hcl (downloaded once
into .cache/terraform-providers; tools/tfmirror.py). The first line says which.

Exit codes: 0 every step passed; 1 a step failed (the summary says which and
why); 2 bad arguments; 3 the machine has no Terraform CLI, or neither a
provider mirror nor the registry (one line naming the fix, nothing else runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rehearse import emulator
from rehearse.steps import CHECKS, Rehearsal, Report
from rehearse.terraform import MissingError, find_provider, find_terraform

REPO = Path(__file__).resolve().parents[2]
EXIT_MISSING = 3


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rehearse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--infra", type=Path, default=REPO / "infra", help="the Terraform to rehearse"
    )
    parser.add_argument(
        "--image",
        default=os.environ.get("FINLEX_REHEARSAL_IMAGE", "finlex:latest"),
        help="local image whose manifest goes to the emulated ECR (default: %(default)s)",
    )
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"))
    parser.add_argument(
        "--workdir", type=Path, help="keep working files here (default: a temp dir)"
    )
    parser.add_argument(
        "--examples",
        nargs="+",
        metavar="NAME",
        help="examples/*.tfvars to apply, by file stem (default: all)",
    )
    parser.add_argument(
        "--autoscaling",
        choices=("both", "true", "false"),
        default="both",
        help="apply each example with autoscaling on, off, or both in turn (default: both)",
    )
    parser.add_argument(
        "--bucket-by-api",
        action="store_true",
        help="make the state bucket with one API call instead of applying infra/bootstrap "
        "(quicker, for checks of the later steps; the full rehearsal applies it)",
    )
    parser.add_argument(
        "--production-only",
        action="store_true",
        help="production alone, as a root without environments/*.tfvars (quicker; the full "
        "rehearsal applies staging beside it and probes staging's roles on production's)",
    )
    parser.add_argument(
        "--checks",
        nargs="+",
        choices=CHECKS,
        default=list(CHECKS),
        help="checks to run after the applies (default: all, in this order: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not (args.infra / "providers.tf").is_file():
        parser.error(f"--infra {args.infra}: no providers.tf there")
    missing = [
        f"environments/{name}"
        for name in ("production.tfvars", "staging.tfvars", "staging.backend.hcl")
        if not (args.infra / "environments" / name).is_file()
    ]
    if missing and not args.production_only:
        parser.error(
            f"--infra {args.infra}: no {', '.join(missing)} there "
            "(--production-only rehearses production alone)"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        terraform = find_terraform()
        provider = find_provider(terraform)
    except MissingError as missing:
        print(f"rehearse: {missing}", file=sys.stderr)
        return EXIT_MISSING
    print(f"provider: {provider.describe()}", flush=True)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="finlex-rehearsal-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        account = report.step("emulator", emulator.start)
        if account is None:
            return report.finish()
        try:
            Rehearsal(
                report=report,
                account=account,
                infra=args.infra,
                workdir=workdir,
                terraform=terraform,
                mirror=provider.mirror,
                image=args.image,
                docker=args.docker,
                examples=args.examples,
                autoscaling=["true", "false"] if args.autoscaling == "both" else [args.autoscaling],
                bootstrap_by_api=args.bucket_by_api,
                checks=tuple(args.checks),
                staging=not args.production_only,
            ).run()
        finally:
            account.stop()
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
