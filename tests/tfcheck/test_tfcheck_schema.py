"""The committed aws_schema.json: derived from the provider bindings, reproducible."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
from tfcheck_support import INFRA, REPO_ROOT, TOOLS

from prereq import require
from tfcheck import extract_schema as ex
from tfcheck.check import SCHEMA_PATH

CACHE = REPO_ROOT / ".cache" / "npm"
LINK = "{@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs"


def prop(name: str, tf: str, type_: dict, optional: bool = True, block: bool = False) -> dict:
    anchor = f"{LINK}/resources/thing#{tf} Thing#{tf}}}"
    docs = {"summary": f"{tf} block.", "remarks": anchor} if block else {"summary": anchor + "."}
    out = {"name": name, "docs": docs, "type": type_}
    if optional:
        out["optional"] = True
    return out


def array_of(fqn: str) -> dict:
    return {
        "union": {
            "types": [
                {"fqn": "cdktf.IResolvable"},
                {"collection": {"elementtype": {"fqn": fqn}, "kind": "array"}},
            ]
        }
    }


P = "@cdktf/provider-aws.thing."
MINI_ASSEMBLY = {
    "types": {
        P + "Thing": {
            "kind": "class",
            "base": "cdktf.TerraformResource",
            "docs": {"summary": f"Represents a {LINK}/resources/thing aws_thing}}."},
            "initializer": {
                "parameters": [
                    {"name": "scope", "type": {}},
                    {"name": "id", "type": {}},
                    {"name": "config", "type": {"fqn": P + "ThingConfig"}},
                ]
            },
        },
        P + "ThingConfig": {
            "kind": "interface",
            "interfaces": ["cdktf.TerraformMetaArguments"],
            "properties": [
                prop("name", "name", {"primitive": "string"}, optional=False),
                prop("forceDestroy", "force_destroy", {"primitive": "boolean"}),
                prop("rule", "rule", array_of(P + "ThingRule"), optional=False, block=True),
                prop("encryption", "encryption", {"fqn": P + "ThingEncryption"}, block=True),
                prop("ingress", "ingress", array_of(P + "ThingEncryption")),
                prop("definition", "definition", {"primitive": "any"}, block=True),
            ],
        },
        P + "ThingRule": {
            "kind": "interface",
            "properties": [prop("s3Key", "s3_key", {"primitive": "string"}, optional=False)],
        },
        P + "ThingEncryption": {
            "kind": "interface",
            "properties": [prop("kmsKeyArn", "kms_key_arn", {"primitive": "string"})],
        },
        "@cdktf/provider-aws.provider.AwsProvider": {
            "kind": "class",
            "base": "cdktf.TerraformProvider",
            "initializer": {
                "parameters": [{"name": "config", "type": {"fqn": P + "ProviderConfig"}}]
            },
        },
        P + "ProviderConfig": {
            "kind": "interface",
            "properties": [
                {
                    "name": "region",
                    "optional": True,
                    "type": {"primitive": "string"},
                    "docs": {
                        "summary": "Region.",
                        "remarks": f"{LINK}#region AwsProvider#region}}",
                    },
                }
            ],
        },
    }
}
MINI_CDKTF = {
    "types": {
        "cdktf.TerraformMetaArguments": {
            "properties": [{"name": n} for n in ex.META_ARGUMENT_NAMES]
        },
        "cdktf.TerraformResourceLifecycle": {
            "properties": [{"name": n} for n in ex.LIFECYCLE_NAMES]
        },
    }
}


def test_mini_assembly_maps_docs_anchors_and_nesting():
    schema = ex.build_schema(MINI_ASSEMBLY, MINI_CDKTF, {"aws_thing", "random_x"}, set())
    thing = schema["resources"]["aws_thing"]
    assert thing["attributes"]["name"] == {"required": True}
    assert thing["attributes"]["force_destroy"] == {"required": False}
    assert thing["blocks"]["rule"] == {
        "required": True,
        "nesting": "list",
        "block": {"attributes": {"s3_key": {"required": True}}, "blocks": {}},
    }
    assert thing["blocks"]["encryption"]["nesting"] == "single"
    assert thing["blocks"]["definition"] == {"required": False, "nesting": "single", "block": None}
    # an object-typed argument keeps its element schema (block syntax is accepted for it)
    assert thing["attributes"]["ingress"]["nested"]["attributes"] == {
        "kms_key_arn": {"required": False}
    }
    assert schema["resource_types"] == ["aws_thing"]
    assert schema["provider"]["attributes"] == {"region": {"required": False}}
    assert "provisioner" in schema["meta_arguments"]["resource"]
    assert "ignore_changes" in schema["meta_arguments"]["lifecycle"]
    # rendering is deterministic
    assert ex.render(schema) == ex.render(json.loads(ex.render(schema)))


def test_unmapped_meta_argument_is_an_error():
    cdktf = json.loads(json.dumps(MINI_CDKTF))
    cdktf["types"]["cdktf.TerraformMetaArguments"]["properties"].append({"name": "newThing"})
    with pytest.raises(ex.ExtractError, match="newThing"):
        ex.meta_arguments(cdktf)


def test_property_without_anchor_is_an_error():
    broken = json.loads(json.dumps(MINI_ASSEMBLY))
    broken["types"][P + "ThingRule"]["properties"][0]["docs"] = {"summary": "no link"}
    with pytest.raises(ex.ExtractError, match="no docs anchor"):
        ex.build_schema(broken, MINI_CDKTF, {"aws_thing"}, set())


def test_tarball_integrity_is_verified(tmp_path):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as archive:
        data = json.dumps({"types": {}}).encode()
        info = tarfile.TarInfo("package/.jsii")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    path = tmp_path / "x-1.0.0.tgz"
    path.write_bytes(payload.getvalue())
    good = "sha512-" + base64.b64encode(hashlib.sha512(payload.getvalue()).digest()).decode()
    package = ex.NpmPackage("x", "1.0.0", good)
    assert ex.fetch_tarball(package, tmp_path) == path
    assert ex.read_assembly(path) == {"types": {}}
    with pytest.raises(ex.ExtractError, match="integrity mismatch"):
        ex.verify_integrity(path, ex.NpmPackage("x", "1.0.0", "sha512-AAAA"))
    assert ex.PROVIDER_PACKAGE.tarball_name == "cdktf-provider-aws-21.22.1.tgz"


def test_schema_covers_exactly_the_types_in_use():
    """Fails when infra/ gains or drops a type: rerun `python -m tfcheck.extract_schema`."""
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    resources, data_sources = ex.used_types([REPO_ROOT / d for d in ex.DEFAULT_SCAN])
    assert set(committed["resources"]) == {t for t in resources if t.startswith("aws_")}
    assert set(committed["data_sources"]) == {t for t in data_sources if t.startswith("aws_")}
    infra_types, _ = ex.used_types([INFRA])
    assert infra_types, "infra/ declares no resources"
    assert committed["source"]["provider"] == "hashicorp/aws 6.25.0"
    assert committed["source"]["bindings"] == "@cdktf/provider-aws@21.22.1"


@pytest.mark.slow
def test_rerunning_the_extraction_reproduces_the_committed_file(tmp_path):
    cached = all(
        (CACHE / p.tarball_name).is_file() for p in (ex.PROVIDER_PACKAGE, ex.CDKTF_PACKAGE)
    )
    require(
        cached or shutil.which("npm") is not None,
        "npm is needed to fetch @cdktf/provider-aws (or a cached tarball in .cache/npm)",
    )
    out = tmp_path / "aws_schema.json"
    # In a child process: loading the 130 MB .jsii takes ~0.8 GB that pytest need not keep.
    result = subprocess.run(
        [sys.executable, "-m", "tfcheck.extract_schema", "-o", str(out), "--cache-dir", str(CACHE)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(TOOLS)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes() == SCHEMA_PATH.read_bytes(), (
        "tools/tfcheck/aws_schema.json is stale: rerun python -m tfcheck.extract_schema"
    )
