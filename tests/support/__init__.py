"""What the tests share: fakes, servers, prerequisites and Terraform/HCL helpers.

- prerequisites: skip a test when the machine lacks a tool (fail under CI=true)
- skipsummary: the pytest plugin that ends every session with its skips
- servers/: real processes and stand-ins on loopback (the production server,
  misbehaving servers for the probe, a finlex look-alike, an OSV stand-in)
- terraform/: python-hcl2 views of infra/, embedded Terraform, the real CLI
- rawhttp: HTTP/1.1 written and read byte for byte
- release_fakes: a fake clock, moto-backed images, an ECS controller for moto
- makedb: what a make target reads, as make itself says

Each helper is defined once, here or, when tools/ needs it too, in tools/.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS = REPO_ROOT / "tests"
