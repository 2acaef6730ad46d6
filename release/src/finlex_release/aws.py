"""AWS clients and the translation of botocore's exceptions into exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
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


def client_factory(region: str | None) -> ClientFactory:
    """A factory of real clients sharing one session, with adaptive retries."""
    session = boto3.session.Session(region_name=region)
    config = Config(retries={"mode": "adaptive", "max_attempts": 8})

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
    if isinstance(error, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
        return ReleaseError(
            f"no usable AWS credentials ({error}); configure a profile, environment "
            "variables or a role",
            Exit.CREDENTIALS,
        )
    if isinstance(error, NoRegionError):
        return ReleaseError("no AWS region: pass --region or set AWS_REGION", Exit.USAGE)
    if isinstance(error, ParamValidationError):
        return ReleaseError(" ".join(str(error).split()), Exit.USAGE)
    if isinstance(error, EndpointConnectionError):
        return ReleaseError(f"cannot reach AWS: {error}", Exit.AWS)
    return ReleaseError(f"AWS client error: {error}", Exit.AWS)


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """Re-raise botocore exceptions as ReleaseError."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise translate(error) from error
