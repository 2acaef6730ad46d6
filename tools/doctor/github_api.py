"""GitHub's REST API, read-only: the token, the repository, GET requests and their errors."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping

from .machine import Machine

GITHUB_API = "https://api.github.com"
GITHUB_TIMEOUT = 10.0
REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$")
REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


class GitHubError(Exception):
    """GitHub answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}".strip())
        self.status = status


class GitHubUnreachableError(Exception):
    """No usable answer from the API: network, TLS, or a body that is not JSON."""


def github_token(m: Machine) -> str | None:
    """GITHUB_TOKEN, GH_TOKEN, else what `gh auth token` prints (no prompt, no network)."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if m.env.get(name, "").strip():
            return m.env[name].strip()
    gh = m.which("gh")
    answer = m.run([gh, "auth", "token"]) if gh else None
    if answer is not None and answer.returncode == 0 and answer.stdout.strip():
        return answer.stdout.strip()
    return None


def github_repository(m: Machine) -> str | None:
    """GITHUB_REPOSITORY, else OWNER/NAME of the checkout's github.com origin."""
    named = m.env.get("GITHUB_REPOSITORY", "").strip()
    if named:
        return named
    git = m.which("git")
    remote = m.run([git, "-C", str(m.repo), "remote", "get-url", "origin"]) if git else None
    if remote is None or remote.returncode != 0:
        return None
    match = REMOTE.search(remote.stdout.strip())
    return match.group(1) if match else None


def proxies(env: Mapping[str, str]) -> dict[str, str]:
    """The machine's proxies (http_proxy, HTTPS_PROXY, ...), read from `env`."""
    found = {}
    for scheme in ("http", "https"):
        value = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    return found


class GitHubApi:
    """GET requests to GitHub's REST API with a token; JSON answers."""

    def __init__(self, base: str, token: str, env: Mapping[str, str]) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies(env)))

    def get(self, path: str) -> object:
        request = urllib.request.Request(  # noqa: S310 - http(s) checked by the caller
            self.base + path,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "finlex-doctor",
            },
        )
        try:
            with self.opener.open(request, timeout=GITHUB_TIMEOUT) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            with error:
                raise GitHubError(error.code, api_message(error.read())) from None
        except (OSError, ValueError) as error:  # URLError, timeouts, TLS; not JSON
            reason = getattr(error, "reason", None) or error
            raise GitHubUnreachableError(str(reason)[:160]) from None

    def object(self, path: str) -> dict[str, object]:
        answer = self.get(path)
        if not isinstance(answer, dict):
            raise GitHubUnreachableError(f"{path}: not a JSON object")
        return answer


def api_message(body: bytes) -> str:
    """GitHub's `message` of an error answer, or nothing."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    return str(answer.get("message", ""))[:160] if isinstance(answer, dict) else ""
