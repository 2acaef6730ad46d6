"""AWS clients and the translation of botocore's exceptions into exit codes."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

from finlex_release.errors import Exit, ReleaseError

# Makes an AWS client by service name ("ecr", "ecs", "elbv2"). Tests pass their own.
ClientFactory = Callable[[str], Any]

_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "UnauthorizedOperation",
    }
)
_NOT_FOUND_CODES = frozenset(
    {
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "RepositoryNotFoundException",
        "ImageNotFoundException",
        "TargetGroupNotFound",
        "LoadBalancerNotFound",
    }
)
_USAGE_CODES = frozenset({"InvalidParameterException", "ValidationException", "ValidationError"})


# Bounds on every AWS call, so that a black-holed endpoint fails in bounded time:
# at most MAX_ATTEMPTS x (CONNECT_TIMEOUT + READ_TIMEOUT) plus retry pauses
# (standard mode: at most 20 s each), about 1m45s in the worst case.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
MAX_ATTEMPTS = 3
# us-east-1, eu-west-1, us-gov-west-1, cn-north-1, us-isob-east-1, ...
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")


def client_config() -> Config:
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    )


def check_region(region: str) -> str:
    """`region` if it has the form of an AWS region, else UsageError (exit 2)."""
    if not _REGION.match(region):
        raise ReleaseError(
            f"{region!r} is not an AWS region name (like eu-west-1); check --region, "
            "AWS_REGION or the profile's region",
            Exit.USAGE,
        )
    return region


def known_region(region: str) -> bool:
    """Whether botocore's endpoint data lists `region` in any partition."""
    session = boto3.session.Session()
    return any(
        region in session.get_available_regions("ecs", partition_name=partition)
        for partition in session.get_available_partitions()
    )


def client_factory(region: str | None) -> ClientFactory:
    """A factory of real clients sharing one session, with timeouts and bounded retries."""
    # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is what the AWS CLI v2,
    # the other SDKs and GitHub's configure-aws-credentials set, and what the
    # errors here name.
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    if session.region_name:
        check_region(session.region_name)
    config = client_config()

    def make(service: str) -> Any:
        return session.client(service, config=config)

    return make


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _client_error(error: ClientError) -> ReleaseError:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", "") or code
    operation = error.operation_name
    if code in _CREDENTIAL_CODES:
        return ReleaseError(
            f"AWS refused the credentials ({operation}): {message}", Exit.CREDENTIALS
        )
    # ECS answers an unknown task definition with a generic ClientException.
    if code in _NOT_FOUND_CODES or (
        operation == "DescribeTaskDefinition" and code == "ClientException"
    ):
        return ReleaseError(f"not found ({operation}): {message}", Exit.NOT_FOUND)
    if code in _USAGE_CODES:
        return ReleaseError(f"AWS rejected the input of {operation}: {message}", Exit.USAGE)
    return ReleaseError(f"AWS error in {operation}: {code}: {message}", Exit.AWS)


def translate(error: BotoCoreError | ClientError) -> ReleaseError:
    """The one-line ReleaseError that stands for a botocore exception."""
    if isinstance(error, ClientError):
        return _client_error(error)
    if isinstance(error, ProfileNotFound):
        return ReleaseError(
            f"{error}: check AWS_PROFILE and the profiles in the AWS config file",
            Exit.CREDENTIALS,
        )
    if isinstance(error, SSOError):
        # Missing or expired SSO token (SSOTokenLoadError, UnauthorizedSSOTokenError).
        return ReleaseError(
            f"no usable AWS SSO session ({error}); run `aws sso login`", Exit.CREDENTIALS
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
        return ReleaseError(
            f"no usable AWS credentials ({error}); configure a profile, environment "
            "variables or a role",
            Exit.CREDENTIALS,
        )
    if isinstance(error, NoRegionError):
        return ReleaseError("no AWS region: pass --region or set AWS_REGION", Exit.USAGE)
    if isinstance(error, InvalidRegionError):
        return ReleaseError(f"{error}; check --region or AWS_REGION", Exit.USAGE)
    if isinstance(error, ParamValidationError):
        return ReleaseError(" ".join(str(error).split()), Exit.USAGE)
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return ReleaseError(
            f"AWS did not answer in time ({MAX_ATTEMPTS} attempts, connect timeout "
            f"{CONNECT_TIMEOUT:g}s, read timeout {READ_TIMEOUT:g}s): {error}",
            Exit.AWS,
        )
    if isinstance(error, EndpointConnectionError):
        region = _endpoint_region(str(error))
        if region and not known_region(region):
            return ReleaseError(
                f"unknown AWS region {region!r} (no such endpoint: {error}); check --region "
                "or AWS_REGION",
                Exit.USAGE,
            )
        return ReleaseError(f"cannot reach AWS: {error}", Exit.AWS)
    return ReleaseError(f"AWS client error: {error}", Exit.AWS)


def _endpoint_region(message: str) -> str | None:
    """The region in an endpoint URL such as https://ecs.eu-west-9.amazonaws.com/."""
    match = re.search(r"https?://[a-z0-9-]+\.([a-z0-9-]+)\.amazonaws\.com", message)
    return match.group(1) if match else None


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """Re-raise botocore exceptions as ReleaseError."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise translate(error) from error
