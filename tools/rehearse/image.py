"""Put a locally built image's manifest into the emulated ECR.

moto has no registry, so ``docker push`` cannot reach it; it takes
``PutImage`` with a manifest. The manifest is the image's own: its config
and layer digests and sizes, read from ``docker save``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json"
CONFIG_OCI = "application/vnd.oci.image.config.v1+json"
LAYER_OCI = "application/vnd.oci.image.layer.v1.tar"


def _digest_and_size(archive: tarfile.TarFile, name: str) -> tuple[str, int]:
    member = archive.getmember(name)
    stream = archive.extractfile(member)
    if stream is None:
        raise ValueError(f"{name} is not a file in the saved image")
    sha = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        sha.update(chunk)
    return f"sha256:{sha.hexdigest()}", member.size


def manifest_of(docker: str, image: str) -> str:
    """The Docker v2 manifest of `image`, from its ``docker save`` archive."""
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "image.tar"
        subprocess.run(  # noqa: S603 - argument list, no shell
            [docker, "save", "-o", str(saved), image], check=True, capture_output=True
        )
        with tarfile.open(saved) as archive:
            entry: dict[str, Any] = json.load(archive.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
            config_digest, config_size = _digest_and_size(archive, entry["Config"])
            layers = []
            for layer in entry["Layers"]:
                digest, size = _digest_and_size(archive, layer)
                layers.append({"mediaType": LAYER_TAR, "size": size, "digest": digest})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "size": config_size, "digest": config_digest},
        "layers": layers,
    }
    return json.dumps(manifest, indent=3)


def as_oci(manifest: str) -> str:
    """The same image described by an OCI image manifest (another digest)."""
    docker = json.loads(manifest)
    oci = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_OCI,
        "config": {**docker["config"], "mediaType": CONFIG_OCI},
        "layers": [{**layer, "mediaType": LAYER_OCI} for layer in docker["layers"]],
    }
    return json.dumps(oci, indent=3)


def put(ecr: Any, repository: str, tag: str, manifest: str) -> str:
    """PutImage; returns the image digest ECR recorded."""
    response = ecr.put_image(
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=json.loads(manifest)["mediaType"],
        imageTag=tag,
    )
    return str(response["image"]["imageId"]["imageDigest"])
