"""The emulator's IAM gate: every AWS call is recorded, and authorized as AWS would.

moto checks a call's action only (docs/rehearsal.md). This WSGI middleware sits
in front of moto's server application and, for every request:

1. parses it with moto's own routers and parsers, which read botocore's models
   (JSON with ``X-Amz-Target``, query and EC2 forms with ``Action=``, REST-XML
   for S3 and Route53): service, operation, parameters;
2. finds the caller from the SigV4 access key id (header or presigned query):
   an IAM user's key, or the session key of a role assumed through STS;
3. asks the request table (``iamsim.requests``) which authorizations AWS makes
   for the call: action, resource ARN, condition context;
4. evaluates each with ``iamsim.evaluate`` against the caller's policies from
   moto's IAM backend (inline and attached, user or role) and the resource's
   own policy (a KMS key's policy, an S3 bucket's policy);
5. records the call, and, when enforcing, answers a denial as AWS does for
   that protocol, naming the principal, the action and the resource ARN.

The administrator's key (``emulator.ADMIN_KEY``) is recorded, never denied
and never evaluated. An operation the table does not know is recorded as
unknown and counted; when enforcing, a non-administrator's unknown call is
refused with a message that names the table: never silently allowed.

Not modelled (as in ``iamsim.evaluate``): permissions boundaries, session
policies passed to AssumeRole, SCPs. A role's trust policy is not checked
when the administrator assumes it.
"""

from __future__ import annotations

import functools
import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from iamsim import requests as table
from iamsim.evaluate import (
    RESOURCE_POLICY,
    Decision,
    Policy,
    Request,
    Result,
    default_key_policy,
    evaluate,
)

# SigV4: "Credential=AKID/20250101/us-east-1/ecs/aws4_request" (header or query).
_CREDENTIAL = re.compile(r"^([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request$")
_HEADER_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")

# SigV4 signing names that are not botocore's service names.
_SIGNING_NAMES = {"monitoring": "cloudwatch", "elasticloadbalancing": "elbv2"}
# IAM's service prefix where it is not botocore's service name.
_IAM_PREFIXES = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing"}
_ELB_CLASSIC_VERSION = "2012-06-01"

ADMINISTRATOR = "administrator"  # the record's principal for the administrator's key
PARTITION = "aws"


# --- parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """One AWS API call as it reached the emulator."""

    service: str  # IAM's service prefix: "ecs", "elasticloadbalancing", "cloudwatch"...
    operation: str  # "RegisterTaskDefinition"; "" when the request matched none
    params: Mapping[str, Any]  # botocore's parameter names and types
    region: str
    access_key: str
    protocol: str  # "json", "query", "ec2", "rest-xml"; "" when unparsed
    method: str  # HTTP method (a HEAD gets no error body)
    query_compatible: bool = False  # a JSON service that answers errors as its query twin


def _credential(environ: Mapping[str, Any], query: Mapping[str, str]) -> tuple[str, str, str]:
    """(access key id, region, signing name) of a SigV4 request, or empty strings."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    found = _HEADER_CREDENTIAL.search(header)
    scope = found.group(1) if found else query.get("X-Amz-Credential", "")
    match = _CREDENTIAL.match(scope)
    if not match:
        return "", "", ""
    key, region, signing_name = match.groups()
    return key, region, signing_name


def _service_name(signing_name: str, form: Mapping[str, str]) -> str:
    name = _SIGNING_NAMES.get(signing_name, signing_name)
    if name == "elbv2" and form.get("Version") == _ELB_CLASSIC_VERSION:
        return "elb"
    return name


def parse(environ: dict[str, Any]) -> Parsed | None:
    """The call a WSGI request makes, or None for a request that is not an AWS API call.

    The body is read here and put back in ``environ`` for moto to read again.
    """
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request as MotoRequest
    from moto.core.request import determine_request_protocol
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model

    request = MotoRequest(environ)
    body = request.get_data(cache=True)
    environ["wsgi.input"] = io.BytesIO(body)
    key, region, signing_name = _credential(environ, request.args)
    if not signing_name:
        return None
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    name = _service_name(signing_name, form)
    prefix = _IAM_PREFIXES.get(name, name)
    try:
        model = get_service_model(name)
        operation, uri_params = get_service_router(name).match(request)
        protocol = determine_request_protocol(model, request.content_type)
        parser = PROTOCOL_PARSERS[protocol](operation)
        params = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": body,
                "url_path": request.path,
                "url_params": uri_params,
            }
        )
    except Exception:  # any request moto cannot route or parse is an unknown operation
        guessed = "json" if "HTTP_X_AMZ_TARGET" in environ else ""
        return Parsed(prefix, "", {}, region, key, guessed, request.method)
    finally:
        environ["wsgi.input"] = io.BytesIO(body)
    compatible = "awsQueryCompatible" in model.metadata
    return Parsed(
        prefix, str(operation.name), params, region, key, protocol, request.method, compatible
    )


# --- the account, as the request table and the evaluation need it ----------------------------


def _tag_dict(tags: Any) -> dict[str, str]:
    """moto keeps tags in several shapes: {k: v}, [{Key, Value}], {k: {Key, Value}}..."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        items: Iterable[Any] = (
            tags.values()
            if all(isinstance(v, Mapping) for v in tags.values())
            else [{"Key": k, "Value": v} for k, v in tags.items()]
        )
    else:
        items = tags
    found = {}
    for tag in items:
        lowered = {str(k).lower(): v for k, v in tag.items()}
        key = lowered.get("key", lowered.get("tagkey"))
        if key is not None:
            found[str(key)] = str(lowered.get("value", lowered.get("tagvalue", "")))
    return found


class MotoFacts(table.Facts):
    """The request table's questions, answered from moto's backends."""

    def __init__(self, account: str) -> None:
        self.account = account

    def _backend(self, service: str, region: str) -> Any:
        from moto.backends import get_backend

        return get_backend(service)[self.account][region]  # type: ignore[call-overload]

    def tags(self, arn: str) -> Mapping[str, str]:
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return {}
        service, region, resource = parts[2], parts[3], parts[5]
        lookup = getattr(self, f"_tags_{service.replace('-', '_')}", None)
        try:
            return _tag_dict(lookup(arn, region, resource)) if lookup else {}
        except Exception:  # no such resource: it has no tags
            return {}

    def _tags_kms(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("kms", region).list_resource_tags(arn)["Tags"]

    def _tags_acm(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("acm", region).get_certificate(arn).tags

    def _tags_ec2(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("ec2", region).tags.get(resource.rsplit("/", 1)[-1], {})

    def _tags_ecs(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("ecs", region).list_tags_for_resource(arn)

    def _tags_ecr(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("ecr", region).list_tags_for_resource(arn)["tags"]

    def _tags_logs(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("logs", region).list_tags_for_resource(arn)

    def _tags_elasticloadbalancing(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("elbv2", region).describe_tags([arn]).get(arn, {})

    def _tags_sns(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("sns", region).list_tags_for_resource(arn)

    def _tags_cloudwatch(self, arn: str, region: str, resource: str) -> Any:
        return self._backend("cloudwatch", region).list_tags_for_resource(arn)

    def _tags_iam(self, arn: str, region: str, resource: str) -> Any:
        iam = self._iam()
        if resource.startswith("role/"):
            return iam.get_role(resource.rsplit("/", 1)[-1]).tags
        if resource.startswith("policy/"):
            return iam.get_policy(arn).tags
        if resource.startswith("oidc-provider/"):
            return iam.get_open_id_connect_provider(arn).tags
        return {}

    def _iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account][PARTITION]

    def key_arn(self, key_id: str, region: str, account: str) -> str | None:
        if key_id.startswith("arn:"):
            region = key_id.split(":")[3]
        kms = self._backend("kms", region)
        try:
            found = kms.any_id_to_key_id(key_id)
            return str(kms.describe_key(found).arn)
        except Exception:  # no such key or alias
            return None

    def alias_target(self, alias_arn: str) -> str | None:
        region = alias_arn.split(":")[3]
        name = alias_arn.split(":", 5)[5]
        return self.key_arn(name, region, self.account)

    def security_group_vpc(self, group_id: str) -> str | None:
        for region in self._regions("ec2"):
            group = self._backend("ec2", region).get_security_group_from_id(group_id)
            if group is not None:
                return str(group.vpc_id)
        return None

    def _regions(self, service: str) -> list[str]:
        from moto.backends import get_backend

        return list(get_backend(service)[self.account].keys())  # type: ignore[call-overload]

    def permissions_boundary(self, role_name: str) -> str | None:
        try:
            boundary = self._iam().get_role(role_name).permissions_boundary_arn
        except Exception:  # no such role
            return None
        return str(boundary) if boundary else None

    def role_arn(self, role_name: str) -> str | None:
        try:
            return str(self._iam().get_role(role_name).arn)
        except Exception:  # no such role
            return None

    def _bucket(self, name: str) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account][PARTITION].buckets.get(name)

    def bucket_key(self, bucket: str) -> str | None:
        found = self._bucket(bucket)
        rules = (found.encryption or {}).get("Rule", []) if found is not None else []
        for rule in rules if isinstance(rules, list) else [rules]:
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get(
                "KMSMasterKeyID"
            ):
                key = str(default["KMSMasterKeyID"])
                region = str(found.region_name)
                return self.key_arn(key, region, self.account) or key
        return None

    def object_key(self, bucket: str, key: str) -> str | None:
        found = self._bucket(bucket)
        stored = found.keys.get(key) if found is not None else None
        if stored is None or not str(stored.encryption or "").startswith("aws:kms"):
            return None
        if stored.kms_key_id:
            region = str(found.region_name)
            return self.key_arn(str(stored.kms_key_id), region, self.account) or str(
                stored.kms_key_id
            )
        return None

    def scalable_target_arn(self, namespace: str, resource_id: str, dimension: str) -> str | None:
        for region in self._regions("applicationautoscaling"):
            backend = self._backend("applicationautoscaling", region)
            for target in backend.targets.get(dimension, {}).values():
                if target.resource_id == resource_id and target.service_namespace == namespace:
                    return str(target.arn)
        return None

    def next_revision(self, family: str) -> int | None:
        for region in self._regions("ecs"):
            revisions = self._backend("ecs", region).task_definitions.get(family)
            if revisions:
                return max(int(number) for number in revisions) + 1
        return 1

    # --- what the evaluation needs -----------------------------------------------------

    def caller(self, access_key: str) -> Caller | None:
        """The IAM identity that owns `access_key`, or None for a key moto never issued."""
        iam = self._iam()
        key = iam.access_keys.get(access_key)
        if key is None:
            return None
        if key.user_name:
            arn = f"arn:{PARTITION}:iam::{self.account}:user/{key.user_name}"
            return Caller(arn, arn, "user", str(key.user_name))
        from moto.sts.models import sts_backends

        for session in list(sts_backends[self.account][PARTITION].assumed_roles):
            if session.access_key_id == access_key:
                role_arn = str(session.role_arn)
                return Caller(str(session.arn), role_arn, "role", role_arn.rsplit("/", 1)[-1])
        return None

    def identity_policies(self, caller: Caller) -> dict[str, Policy]:
        """The caller's inline and attached policies (and its groups', for a user), by name."""
        iam = self._iam()
        found: dict[str, Policy] = {}
        holders = [iam.get_user(caller.name)] if caller.kind == "user" else []
        if caller.kind == "user":
            holders += iam.get_groups_for_user(caller.name)
        elif caller.kind == "role":
            holders = [iam.get_role(caller.name)]
        for holder in holders:
            for name, document in dict(holder.policies).items():
                found[f"{holder.name}/{name}"] = _document(document)
            for arn, managed in dict(holder.managed_policies).items():
                version = next(v for v in managed.versions if v.is_default)
                found[str(arn)] = _document(version.document)
        return found

    def resource_policy(self, request: Request) -> Policy | None:
        """The resource's own policy: a KMS key's, an S3 bucket's, an ECR repository's
        (who may push and pull), a role's trust policy."""
        arn = request.resource
        if request.action.startswith("ecr:") and ":repository/" in arn:
            return self._repository_policy(arn)
        if request.action.startswith("kms:") and ":key/" in arn:
            if "*" in arn:  # a key being created: IAM policies alone decide (tag on create)
                return default_key_policy(self.account)
            try:
                key = self._backend("kms", arn.split(":")[3]).describe_key(arn)
            except Exception:  # no such key: AWS refuses the call; so does the key policy
                return default_key_policy(self.account)
            return _document(key.policy)
        if arn.startswith(f"arn:{PARTITION}:s3:::"):
            bucket = self._bucket(arn.split(":::", 1)[1].split("/", 1)[0])
            policy = bucket.policy if bucket is not None else None
            return (
                _document(policy.decode() if isinstance(policy, bytes) else policy)
                if (policy)
                else None
            )
        if request.action.lower().startswith("sts:assumerole") and ":role/" in arn:
            try:
                role = self._iam().get_role(arn.rsplit("/", 1)[-1])
            except Exception:  # no such role
                return None
            return _document(role.assume_role_policy_document)
        return None

    def _repository_policy(self, arn: str) -> Policy | None:
        region, rest = arn.split(":")[3], arn.split(":", 5)[5]
        try:
            found = self._backend("ecr", region).get_repository_policy(
                self.account, rest.split("/", 1)[1]
            )
        except Exception:  # no such repository, or no policy: identity policies decide
            return None
        return _document(found["policyText"])


@functools.lru_cache(maxsize=1024)
def _parsed(document: str) -> Policy:
    loaded: Policy = json.loads(document)
    return loaded


def _document(document: Any) -> Policy:
    if isinstance(document, Mapping):
        return document
    from urllib.parse import unquote

    text = str(document)
    return _parsed(unquote(text) if text.startswith("%7B") else text)


# --- the record -------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    arn: str  # as AWS names it in messages: a user, or an assumed-role session
    identity: str  # the user or role whose policies apply
    kind: str  # "user", "role"
    name: str  # the user's or role's name


@dataclass(frozen=True)
class Authorization:
    """One authorization of a call and what the evaluation decided."""

    action: str
    resource: str
    context: Mapping[str, Any]
    decision: Decision | None  # None: not evaluated (the administrator)
    policy: str | None = None
    statement: str | None = None


@dataclass(frozen=True)
class Record:
    """One AWS call the emulator received."""

    principal: str  # the user or role ARN; ADMINISTRATOR; "unknown key <id>"
    caller: str  # as AWS names it in messages
    operation: str  # "ecs:RegisterTaskDefinition" (service and API operation)
    authorizations: tuple[Authorization, ...]
    unknown: bool  # the request table has no row for the operation
    refused: bool  # answered with an error by the gate
    message: str = ""  # the denial message, when denied

    @property
    def denied(self) -> bool:
        return any(
            a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)
            for a in self.authorizations
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "caller": self.caller,
            "operation": self.operation,
            "unknown": self.unknown,
            "refused": self.refused,
            "message": self.message,
            "authorizations": [
                {
                    "action": a.action,
                    "resource": a.resource,
                    "context": dict(a.context),
                    "decision": a.decision.value if a.decision else "not evaluated",
                    "policy": a.policy,
                    "statement": a.statement,
                }
                for a in self.authorizations
            ],
        }


@dataclass(frozen=True)
class Summary:
    """What one principal did, for the rehearsal's summary line."""

    principal: str
    calls: int
    actions: frozenset[str]  # distinct actions authorized (allowed ones)
    denied: int  # calls with a denied authorization (refused or, when not enforcing, not)
    unknown: frozenset[str]  # operations the request table does not know

    def line(self) -> str:
        unknown = f" ({', '.join(sorted(self.unknown))})" if self.unknown else ""
        return (
            f"{self.principal}: {self.calls} calls, {len(self.actions)} distinct actions, "
            f"{self.denied} denied, {len(self.unknown)} unknown operations{unknown}"
        )


# --- answers ----------------------------------------------------------------------------

_QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/",
    "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
}

Answer = tuple[str, list[tuple[str, str]], bytes]


def denial(parsed: Parsed, message: str) -> Answer:
    """An access-denied answer as AWS sends it for the call's protocol: (status, headers, body)."""
    request_id = str(uuid.uuid4())
    text = escape(message)
    if parsed.protocol == "json":
        code = "AccessDeniedException"
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
        if parsed.query_compatible:
            headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
        body = json.dumps({"__type": code, "message": message}).encode()
        return "400 Bad Request", headers, body
    if parsed.protocol == "ec2":
        xml = (
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
            f"<Message>You are not authorized to perform this operation. {text}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif parsed.service == "s3":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{text}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{request_id}</HostId></Error>"
        )
    else:
        code = "AuthorizationError" if parsed.service == "sns" else "AccessDenied"
        namespace = _QUERY_NAMESPACES.get(parsed.service, "")
        xml = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{text}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return "403 Forbidden", headers, b"" if parsed.method == "HEAD" else xml.encode()


def invalid_key(parsed: Parsed) -> Answer:
    """AWS's answer to an access key it never issued."""
    message = "The security token included in the request is invalid."
    if parsed.protocol == "json":
        body = json.dumps({"__type": "UnrecognizedClientException", "message": message})
        return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")], body.encode()
    code = "InvalidAccessKeyId" if parsed.service == "s3" else "InvalidClientTokenId"
    xml = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
    xml += "</Message></Error></ErrorResponse>"
    return "403 Forbidden", [("Content-Type", "text/xml")], xml.encode()


def message(caller: str, authorization: Authorization, resource_side: bool) -> str:
    """AWS's denial message: the principal, the action, the resource and why."""
    action = authorization.action
    head = f"User: {caller} is not authorized to perform: {action} on resource: "
    head += authorization.resource
    side = "a resource-based" if resource_side else "an identity-based"
    if authorization.decision is Decision.EXPLICIT_DENY:
        return f"{head} with an explicit deny in {side} policy"
    side = "resource-based" if resource_side else "identity-based"
    return f"{head} because no {side} policy allows the {action} action"


# --- the gate ---------------------------------------------------------------------------

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Gate:
    """Records every call; when `enforcing`, answers a denied one as AWS does.

    Wrap moto's WSGI application with `wrap`. Read what happened with
    `summaries`, `records` and `denials`; keep a JSON-lines log with `log_to`.
    """

    account: str
    admin_key: str
    enforcing: bool = False
    facts: MotoFacts = field(init=False)
    _records: list[Record] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _log: Path | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.facts = MotoFacts(self.account)

    # --- the integrator's API ------------------------------------------------------------

    @contextmanager
    def enforced(self, on: bool = True) -> Iterator[Gate]:
        """Enforce (or, with on=False, only record) meanwhile."""
        saved, self.enforcing = self.enforcing, on
        try:
            yield self
        finally:
            self.enforcing = saved

    def log_to(self, path: Path | None) -> None:
        """Append every record from now on to `path`, one JSON object a line."""
        self._log = path

    def records(self, principal: str | None = None) -> list[Record]:
        with self._lock:
            found = list(self._records)
        return [r for r in found if principal is None or r.principal == principal]

    def denials(self, principal: str | None = None) -> list[Record]:
        return [r for r in self.records(principal) if r.denied or (r.unknown and r.refused)]

    def summaries(self) -> list[Summary]:
        """One summary per principal, in the order each first called."""
        grouped: dict[str, list[Record]] = {}
        for record in self.records():
            grouped.setdefault(record.principal, []).append(record)
        return [
            Summary(
                principal=principal,
                calls=len(found),
                actions=frozenset(
                    a.action
                    for r in found
                    for a in r.authorizations
                    if a.decision in (None, Decision.ALLOWED)
                ),
                denied=sum(1 for r in found if r.denied),
                unknown=frozenset(r.operation for r in found if r.unknown),
            )
            for principal, found in grouped.items()
        ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    # --- WSGI ------------------------------------------------------------------------------

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def gated(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            parsed = parse(environ)
            if parsed is None:
                return app(environ, start_response)
            answer = self.decide(parsed)
            if answer is None:
                return app(environ, start_response)
            status, headers, body = answer
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]

        return gated

    def decide(self, parsed: Parsed) -> Answer | None:
        """Record the call; the answer to send instead of moto's, or None to let it through."""
        operation = f"{parsed.service}:{parsed.operation or '?'}"
        call = table.Call(
            parsed.service, parsed.operation, parsed.params, parsed.region, self.account
        )
        if parsed.access_key == self.admin_key:
            self._administrator(call, operation)
            return None
        caller = self.facts.caller(parsed.access_key)
        if caller is None:
            unknown_key = f"unknown key {parsed.access_key}"
            self._keep(Record(unknown_key, unknown_key, operation, (), False, self.enforcing))
            return invalid_key(parsed) if self.enforcing else None
        try:
            wanted = table.authorizations(call, caller.arn, self.facts)
        except table.UnknownOperationError as unknown:
            text = f"User: {caller.arn} is not authorized to perform: {operation}: {unknown}"
            self._keep(
                Record(caller.identity, caller.arn, operation, (), True, self.enforcing, text)
            )
            return denial(parsed, text) if self.enforcing else None
        policies = self.facts.identity_policies(caller)
        decided, text = self._evaluate(caller, wanted, policies)
        refused = bool(text) and self.enforcing
        self._keep(Record(caller.identity, caller.arn, operation, decided, False, refused, text))
        return denial(parsed, text) if refused else None

    def _administrator(self, call: table.Call, operation: str) -> None:
        """Recorded with the context the call would have under a role, never evaluated."""
        try:
            root = f"arn:{PARTITION}:iam::{self.account}:root"
            wanted = table.authorizations(call, root, self.facts)
        except table.UnknownOperationError:
            self._keep(Record(ADMINISTRATOR, ADMINISTRATOR, operation, (), True, False))
            return
        decided = tuple(Authorization(r.action, r.resource, r.context, None) for r in wanted)
        self._keep(Record(ADMINISTRATOR, ADMINISTRATOR, operation, decided, False, False))

    def _evaluate(
        self, caller: Caller, wanted: list[Request], policies: Mapping[str, Policy]
    ) -> tuple[tuple[Authorization, ...], str]:
        """Each authorization's decision, and the denial message of the first one denied."""
        decided = []
        text = ""
        for request in wanted:
            resource_policy = self.facts.resource_policy(request)
            result = evaluate(request, policies, resource_policy)
            authorization = Authorization(
                request.action,
                request.resource,
                request.context,
                result.decision,
                result.policy,
                result.statement,
            )
            decided.append(authorization)
            if result.decision is not Decision.ALLOWED and not text:
                side = self._resource_side(request, policies, resource_policy, result)
                text = message(caller.arn, authorization, side)
        return tuple(decided), text

    def _resource_side(
        self,
        request: Request,
        policies: Mapping[str, Policy],
        resource_policy: Policy | None,
        result: Result,
    ) -> bool:
        """Whether the resource's own policy is what denied (AWS's message says which)."""
        if result.decision is Decision.EXPLICIT_DENY:
            return result.policy == RESOURCE_POLICY
        if resource_policy is None:
            return False
        delegating = default_key_policy(self.account) if request.action.startswith("kms:") else None
        return evaluate(request, policies, delegating).decision is Decision.ALLOWED

    def _keep(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)
            if self._log is not None:
                with self._log.open("a") as log:
                    log.write(json.dumps(record.to_json(), default=str) + "\n")
