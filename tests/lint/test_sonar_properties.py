"""sonar-project.properties agrees with the repository and with pytest-cov."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def properties() -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in (REPO / "sonar-project.properties").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not key=value: {raw!r}"
        assert key.strip() not in values, f"duplicate key {key}"
        values[key.strip()] = value.strip()
    return values


def paths(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def pytest_addopts() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(pyproject["tool"]["pytest"]["ini_options"]["addopts"])


def test_project_key_and_python_version() -> None:
    props = properties()
    assert props["sonar.projectKey"] == "finlex"
    assert props["sonar.python.version"] == "3.11"


def test_sources_and_tests_exist() -> None:
    props = properties()
    for key in ("sonar.sources", "sonar.tests"):
        listed = paths(props[key])
        assert listed, key
        for path in listed:
            assert (REPO / path).exists(), f"{key}: {path} does not exist"


def test_coverage_report_is_the_one_pytest_writes() -> None:
    props = properties()
    xml_reports = [
        opt.split("xml:", 1)[1] for opt in pytest_addopts() if opt.startswith("--cov-report=xml:")
    ]
    assert xml_reports == paths(props["sonar.python.coverage.reportPaths"])


def test_measured_code_is_inside_the_sources() -> None:
    sources = paths(properties()["sonar.sources"])
    measured = [opt.split("=", 1)[1] for opt in pytest_addopts() if opt.startswith("--cov=")]
    assert measured
    for path in measured:
        assert any(path == s or path.startswith(s + "/") for s in sources), path


def test_exclusions_are_globs_not_absolute_paths() -> None:
    props = properties()
    for key in ("sonar.exclusions", "sonar.coverage.exclusions"):
        for pattern in paths(props[key]):
            assert not pattern.startswith("/"), pattern
            assert not re.match(r"^[A-Za-z]:", pattern), pattern
