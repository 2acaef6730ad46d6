"""Exit codes and the one error type every command raises.

The CLI turns a `ReleaseError` into one line on stderr and its exit code, so
that no user ever sees a traceback for a problem they can fix.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Process exit codes. Keep in step with the table in release/README.md."""

    OK = 0
    FAILED = 1  # the gate, the deployment or the verification said no
    USAGE = 2  # missing or invalid input: options, allowlist file, image reference
    CREDENTIALS = 3  # no AWS credentials, expired token, access denied
    NOT_FOUND = 4  # cluster, service, repository, image or task definition
    TIMEOUT = 5  # a wait ran out of time
    AWS = 6  # any other AWS API or network error
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as shells report it
    TERMINATED = 143  # SIGTERM (a CI runner cancelling the job): 128 + 15


EXIT_TABLE = {
    Exit.OK: "success",
    Exit.FAILED: "gate blocked, deployment failed or rolled back, verification failed",
    Exit.USAGE: "missing or invalid input (options, files, image reference, URL, region)",
    Exit.CREDENTIALS: "no AWS credentials, expired token or SSO session, unknown profile, "
    "or access denied",
    Exit.NOT_FOUND: "cluster, service, repository, image or task definition not found",
    Exit.TIMEOUT: "a wait (scan, deployment, verification) ran out of time",
    Exit.AWS: "other AWS API or network error",
    Exit.INTERRUPTED: "interrupted (Ctrl-C); a deployment in progress is named",
    Exit.TERMINATED: "terminated (SIGTERM); a deployment in progress is named",
}


class ReleaseError(Exception):
    """A failure to report as one line with a specific exit code."""

    def __init__(self, message: str, code: Exit = Exit.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(ReleaseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.USAGE)


class NotFoundError(ReleaseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.NOT_FOUND)


class WaitTimeoutError(ReleaseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.TIMEOUT)
