"""CI hands the image it tested to the deploy job as a file, with its ID.

`make image-save` writes the archive and prints `image-id=ID` (a GITHUB_OUTPUT
line); `make image-load` loads it and refuses, in one line, an image whose ID is
not the one CI tested: an image ID is the digest of the image's config, so an
equal ID is the same image. The deploy then pushes exactly that image. These
were shell in the Makefile; standard library only (the deploy job has no venv yet).

Usage: python tools/imagehandoff.py [--docker DOCKER] COMMAND ...
  save ARCHIVE IMAGE         docker image save; print image-id=<the image's ID>
  load ARCHIVE IMAGE ID      docker image load; exit 1 unless IMAGE has the ID
Exit codes: 0 done, 1 another image, 2 bad arguments, 3 docker failed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_OTHER_IMAGE = 1
EXIT_USAGE = 2
EXIT_DOCKER = 3


class DockerError(Exception):
    """docker failed: its own message has gone to stderr."""


def docker(command: Sequence[str], *args: str, quiet: bool = False) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - argument list, no shell
            [*command, *args], stdout=subprocess.PIPE, text=True, check=False
        )
    except OSError as error:
        raise DockerError(f"cannot run {command[0]}: {error.strerror}") from error
    if done.returncode != 0:
        raise DockerError(f"`docker {' '.join(args[:2])}` failed (exit {done.returncode})")
    return "" if quiet else done.stdout.strip()


def image_id(command: Sequence[str], image: str) -> str:
    return docker(command, "image", "inspect", "--format", "{{.Id}}", image)


def save(command: Sequence[str], archive: str, image: str) -> str:
    docker(command, "image", "save", "--output", archive, image, quiet=True)
    return f"image-id={image_id(command, image)}"


def load(command: Sequence[str], archive: str, image: str, tested: str) -> tuple[int, str]:
    """(exit code, the line to print) after loading the archive."""
    docker(command, "image", "load", "--input", archive, quiet=True)
    found = image_id(command, image)
    if found != tested:
        return EXIT_OTHER_IMAGE, f"make image-load: {image} is {found}, but CI tested {tested}"
    return EXIT_OK, f"{image} loaded: {found}, the image CI tested"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="imagehandoff",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--docker", default="docker", help="the docker client")
    commands = parser.add_subparsers(dest="command", required=True)
    saved = commands.add_parser("save", help="save IMAGE into ARCHIVE; print its ID")
    saved.add_argument("archive")
    saved.add_argument("image")
    loaded = commands.add_parser("load", help="load ARCHIVE; check IMAGE's ID")
    loaded.add_argument("archive")
    loaded.add_argument("image")
    loaded.add_argument("id", help="the ID CI tested (make image-save printed it)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    command = shlex.split(args.docker) or ["docker"]
    try:
        if args.command == "save":
            print(save(command, args.archive, args.image))
            return EXIT_OK
        code, line = load(command, args.archive, args.image, args.id)
    except DockerError as error:
        print(f"imagehandoff: {error}", file=sys.stderr)
        return EXIT_DOCKER
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
