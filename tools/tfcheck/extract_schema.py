"""Extract the hashicorp/aws argument schema that infra/ needs into a JSON file.

The schema comes from the published CDKTF bindings of the provider
(npm @cdktf/provider-aws, generated from hashicorp/aws). Its `.jsii` assembly
holds one `...Config` struct per resource and data source; each property is
an argument (docs anchor `#name`) or a nested block (summary `name block.`),
`optional` absent means required. Meta-arguments come from cdktf's
`TerraformMetaArguments` and `TerraformResourceLifecycle`.

    python -m tfcheck.extract_schema            # rewrite tools/tfcheck/aws_schema.json
    python -m tfcheck.extract_schema --check    # exit 1 if the committed file is stale

Tarballs are fetched with `npm pack` into a cache folder (default .cache/npm,
or $TFCHECK_NPM_CACHE) and verified against pinned integrity hashes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfcheck.hcl import HclError, module_dirs, parse_file, tf_files

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path(__file__).resolve().parent / "aws_schema.json"
DEFAULT_SCAN = ("infra", "tests/tfcheck/fixtures")


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # npm's dist.integrity (sha512, base64)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        # npm pack's file name: scope folded in, "@" dropped, "/" -> "-"
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


PROVIDER_PACKAGE = NpmPackage(
    "@cdktf/provider-aws",
    "21.22.1",
    "sha512-BuSHeaQFUL9l33pBzIMRT7cTQ69AM2mLtijjteCPhVQRmvuhuj9Lvfymf7knAMhYqAT6+Lrls9jiGVW/Us3zrQ==",
)
CDKTF_PACKAGE = NpmPackage(
    "cdktf",
    "0.21.0",
    "sha512-bdTOOyrFSXw0p5d7/3dye7ZWYzrUatyMjWEAAwTGoqghjygRj6Q55y1QZnSB021NRDzYZ3BhFGsOkpmIjQMzNQ==",
)

# cdktf spells meta-arguments in camelCase without Terraform docs anchors; these
# tables name the Terraform-language spelling of each. Extraction fails if cdktf
# has a property not listed here, so a change cannot slip through unnoticed.
META_ARGUMENT_NAMES = {
    "connection": "connection",
    "count": "count",
    "dependsOn": "depends_on",
    "forEach": "for_each",
    "lifecycle": "lifecycle",
    "provider": "provider",
    "provisioners": "provisioner",
}
LIFECYCLE_NAMES = {
    "createBeforeDestroy": "create_before_destroy",
    "ignoreChanges": "ignore_changes",
    "postcondition": "postcondition",
    "precondition": "precondition",
    "preventDestroy": "prevent_destroy",
    "replaceTriggeredBy": "replace_triggered_by",
}

_LINK = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/[^/]+/docs/"
    r"(resources|data-sources)/(\w+)(?:#(\w+))? (\w+)\}"
)
# The argument a property stands for: the anchor of its registry link.
_ANCHOR = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/[^/]+/docs"
    r"(?:/(?:resources|data-sources)/\w+)?#(\w+) \w+#\w+\}"
)
_FQN = re.compile(r'"fqn": "(@cdktf/provider-aws\.[^"]+)"')


class ExtractError(Exception):
    """A problem the user must fix (no npm, bad tarball, unexpected assembly)."""


def fetch_tarball(package: NpmPackage, cache_dir: Path) -> Path:
    """Return the cached tarball of `package`, running `npm pack` if it is absent."""
    path = cache_dir / package.tarball_name
    if not path.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise ExtractError(
                f"{path} is not cached and npm is not on PATH to fetch {package.spec}"
            )
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            result = subprocess.run(  # noqa: S603 - fixed argument list
                [npm, "pack", package.spec, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                check=False,
            )
            fetched = Path(tmp) / package.tarball_name
            if result.returncode != 0 or not fetched.is_file():
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise ExtractError(
                    f"npm pack {package.spec} failed: {detail[-1] if detail else 'no output'}"
                )
            verify_integrity(fetched, package)
            fetched.replace(path)
    verify_integrity(path, package)
    return path


def verify_integrity(path: Path, package: NpmPackage) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    actual = base64.b64encode(digest.digest()).decode()
    if actual != expected:
        raise ExtractError(
            f"{path}: integrity mismatch for {package.spec} (expected {package.integrity}, "
            f"got {algorithm}-{actual}); delete the file and fetch it again"
        )


def read_assembly(tarball: Path) -> dict[str, Any]:
    """Load `package/.jsii` from an npm tarball."""
    with tarfile.open(tarball, "r:gz") as archive:
        try:
            member = archive.extractfile("package/.jsii")
        except KeyError as exc:
            raise ExtractError(f"{tarball}: no package/.jsii inside") from exc
        if member is None:
            raise ExtractError(f"{tarball}: package/.jsii is not a file")
        with member:
            data: dict[str, Any] = json.load(member)
    return data


def used_types(directories: Iterable[Path]) -> tuple[set[str], set[str]]:
    """Resource and data source types declared in the .tf files under `directories`."""
    resources: set[str] = set()
    data_sources: set[str] = set()
    for root in directories:
        if not root.is_dir():
            continue
        for directory in module_dirs(root):
            for path in tf_files(directory):
                try:
                    body = parse_file(path)
                except HclError:
                    continue  # the checker reports syntax errors; extract what parses
                for block in body.blocks:
                    _collect_types(block, resources, data_sources)
    return resources, data_sources


def _collect_types(block: Any, resources: set[str], data_sources: set[str]) -> None:
    if block.type == "resource" and block.labels:
        resources.add(block.labels[0])
    elif block.type == "data" and block.labels:
        data_sources.add(block.labels[0])
    elif block.type == "check":
        for inner in block.body.blocks:
            _collect_types(inner, resources, data_sources)


class Assembly:
    """Index of the provider bindings: Terraform type name -> Config struct."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.types: dict[str, Any] = data["types"]
        self.resources: dict[str, str] = {}
        self.data_sources: dict[str, str] = {}
        self.provider_config: str | None = None
        for fqn, spec in self.types.items():
            if spec.get("kind") != "class":
                continue
            base = spec.get("base")
            if base not in (
                "cdktf.TerraformResource",
                "cdktf.TerraformDataSource",
                "cdktf.TerraformProvider",
            ):
                continue
            params = spec.get("initializer", {}).get("parameters", [])
            config = next((p["type"].get("fqn") for p in params if p["name"] == "config"), None)
            if config is None:
                raise ExtractError(f"{fqn}: no config parameter in its initializer")
            if base == "cdktf.TerraformProvider":
                self.provider_config = config
                continue
            link = _LINK.search(spec.get("docs", {}).get("summary", ""))
            if link is None:
                raise ExtractError(f"{fqn}: no Terraform registry link in its docs")
            kind, _, _, tf_type = link.groups()
            table = self.resources if kind == "resources" else self.data_sources
            if tf_type in table:
                raise ExtractError(f"{fqn}: {tf_type} is bound twice")
            table[tf_type] = config

    def block_schema(self, fqn: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if fqn in stack:
            raise ExtractError(f"{fqn}: recursive block structure")
        spec = self.types.get(fqn)
        if spec is None:
            raise ExtractError(f"{fqn}: struct missing from the assembly")
        attributes: dict[str, Any] = {}
        blocks: dict[str, Any] = {}
        for prop in spec.get("properties", []):
            if prop.get("static"):
                continue
            docs = prop.get("docs", {})
            summary = docs.get("summary", "")
            text = f"{summary} {docs.get('remarks', '')}"
            anchor = _ANCHOR.search(text)
            if anchor is None:
                raise ExtractError(f"{fqn}.{prop['name']}: no docs anchor naming the argument")
            name = anchor.group(1)
            required = not prop.get("optional", False)
            nested = _FQN.findall(json.dumps(prop["type"], sort_keys=True))
            nesting = _nesting(prop["type"])
            if summary == f"{name} block.":
                entry: dict[str, Any] = {"required": required, "nesting": nesting}
                # A block typed `any` (e.g. QuickSight definitions) has no schema.
                entry["block"] = self.block_schema(nested[0], (*stack, fqn)) if nested else None
                _put(blocks, name, entry, fqn)
            else:
                entry = {"required": required}
                if nested:
                    # An object-typed argument; the provider may also accept block syntax.
                    entry["nested"] = self.block_schema(nested[0], (*stack, fqn))
                    entry["nesting"] = nesting
                _put(attributes, name, entry, fqn)
        for parent in spec.get("interfaces", []):
            if parent.startswith("@cdktf/provider-aws."):
                inherited = self.block_schema(parent, (*stack, fqn))
                for name, entry in inherited["attributes"].items():
                    _put(attributes, name, entry, fqn)
                for name, entry in inherited["blocks"].items():
                    _put(blocks, name, entry, fqn)
        return {"attributes": attributes, "blocks": blocks}


def _put(table: dict[str, Any], name: str, entry: dict[str, Any], fqn: str) -> None:
    if name in table:
        raise ExtractError(f"{fqn}: argument {name} appears twice")
    table[name] = entry


def _nesting(type_: dict[str, Any]) -> str:
    """`single` for a struct (max one block), `list` for a collection of structs."""
    if "fqn" in type_:
        return "single"
    if "collection" in type_:
        return "map" if type_["collection"]["kind"] == "map" else "list"
    for option in type_.get("union", {}).get("types", []):
        if "collection" in option:
            return _nesting(option)
    return "single"


def meta_arguments(cdktf: dict[str, Any]) -> dict[str, list[str]]:
    types = cdktf["types"]
    out: dict[str, list[str]] = {}
    for key, fqn, names in (
        ("resource", "cdktf.TerraformMetaArguments", META_ARGUMENT_NAMES),
        ("lifecycle", "cdktf.TerraformResourceLifecycle", LIFECYCLE_NAMES),
    ):
        spec = types.get(fqn)
        if spec is None:
            raise ExtractError(f"{fqn} missing from the cdktf assembly")
        props = sorted(p["name"] for p in spec.get("properties", []))
        unknown = [p for p in props if p not in names]
        if unknown:
            raise ExtractError(f"{fqn}: unmapped properties {unknown}; extend the table")
        out[key] = sorted(names[p] for p in props)
    return out


def build_schema(
    provider: dict[str, Any], cdktf: dict[str, Any], resources: set[str], data_sources: set[str]
) -> dict[str, Any]:
    assembly = Assembly(provider)
    if assembly.provider_config is None:
        raise ExtractError("the provider assembly has no provider class")
    unknown_r = sorted(t for t in resources if t.startswith("aws_") and t not in assembly.resources)
    unknown_d = sorted(
        t for t in data_sources if t.startswith("aws_") and t not in assembly.data_sources
    )
    for type_ in unknown_r:
        print(f"note: resource type {type_} does not exist in the provider", file=sys.stderr)
    for type_ in unknown_d:
        print(f"note: data source type {type_} does not exist in the provider", file=sys.stderr)
    version = _provider_version(provider)
    return {
        "source": {
            "bindings": f"{PROVIDER_PACKAGE.spec}",
            "cdktf": f"{CDKTF_PACKAGE.spec}",
            "provider": f"hashicorp/aws {version}",
            "generator": "python -m tfcheck.extract_schema",
        },
        "meta_arguments": meta_arguments(cdktf),
        "provider": assembly.block_schema(assembly.provider_config),
        "resource_types": sorted(assembly.resources),
        "data_source_types": sorted(assembly.data_sources),
        "resources": {
            t: assembly.block_schema(assembly.resources[t])
            for t in sorted(resources)
            if t in assembly.resources
        },
        "data_sources": {
            t: assembly.block_schema(assembly.data_sources[t])
            for t in sorted(data_sources)
            if t in assembly.data_sources
        },
    }


def _provider_version(provider: dict[str, Any]) -> str:
    for spec in provider["types"].values():
        match = re.search(r"hashicorp/aws/([0-9.]+)/docs", spec.get("docs", {}).get("summary", ""))
        if match:
            return match.group(1)
    raise ExtractError("cannot tell the provider version from the assembly")


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def extract(scan: list[Path], cache_dir: Path, verbose: bool = False) -> str:
    started = time.monotonic()
    provider_tgz = fetch_tarball(PROVIDER_PACKAGE, cache_dir)
    cdktf_tgz = fetch_tarball(CDKTF_PACKAGE, cache_dir)
    fetched = time.monotonic()
    provider = read_assembly(provider_tgz)
    cdktf = read_assembly(cdktf_tgz)
    loaded = time.monotonic()
    resources, data_sources = used_types(scan)
    text = render(build_schema(provider, cdktf, resources, data_sources))
    if verbose:
        print(
            f"fetch+verify {fetched - started:.1f}s, load .jsii {loaded - fetched:.1f}s, "
            f"build {time.monotonic() - loaded:.1f}s; {len(resources)} resource and "
            f"{len(data_sources)} data source types",
            file=sys.stderr,
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tfcheck.extract_schema", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "scan",
        nargs="*",
        type=Path,
        help="folders whose .tf files name the types to extract "
        f"(default: {' '.join(DEFAULT_SCAN)} under the repository root)",
    )
    parser.add_argument("-o", "--output", type=Path, default=SCHEMA_PATH, help="JSON file to write")
    parser.add_argument(
        "--check", action="store_true", help="compare with --output instead of writing it"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("TFCHECK_NPM_CACHE", REPO_ROOT / ".cache" / "npm")),
        help="where npm tarballs are kept (default .cache/npm or $TFCHECK_NPM_CACHE)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print timings")
    args = parser.parse_args(argv)
    scan = args.scan or [REPO_ROOT / d for d in DEFAULT_SCAN]
    try:
        text = extract(scan, args.cache_dir, args.verbose)
    except ExtractError as exc:
        print(f"extract_schema: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, tarfile.TarError) as exc:
        print(f"extract_schema: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"extract_schema: error: cannot read {args.output}: {exc}", file=sys.stderr)
            return 2
        if current != text:
            print(
                f"{args.output} is stale: rerun `python -m tfcheck.extract_schema` and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
