"""The request table: which authorizations AWS makes for one API call.

An API call is not one IAM check. ``ecs:RegisterTaskDefinition`` also checks
``iam:PassRole`` for each role it names, and ``ecs:TagResource`` when it
carries tags; an S3 write to a bucket encrypted with a customer-managed key
also checks ``kms:GenerateDataKey`` on that key, through S3. Each row here
says, for one operation of one service: the IAM action, the resource ARN
resolved from the call's own parameters, the condition keys that apply, and
the further authorizations the call makes.

The table is pure: what only the account knows (a resource's tags, the VPC of
a security group, a role's permissions boundary, a bucket's default key) it
asks of a `Facts` object, which the emulator's gate backs with moto's
backends and the tests with plain values.

Resources a call creates have no ID yet: their ARN carries ``*`` where the ID
will be (``security-group/*``), as AWS's own documentation writes them.

Condition keys set: ``aws:RequestedRegion`` and ``aws:SecureTransport`` on
every request; ``aws:RequestTag/<key>`` and ``aws:TagKeys`` from the call's
tags; ``aws:ResourceTag/<key>`` from the resource's tags where its resource
type supports the key; and the service keys the rows name (iam:PassedToService,
iam:PermissionsBoundary, kms:ViaService, ec2:Vpc, route53's record names,
types and actions, acm:DomainNames...). Not set: the service-specific aliases
of the tag keys (``ecs:ResourceTag/...``) and keys about the network path or
the session (aws:SourceIp, aws:MultiFactorAuthPresent...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamsim.evaluate import Request

PARTITION = "aws"

Context = dict[str, str | list[str]]
Params = Mapping[str, Any]
Tags = Mapping[str, str | None]  # None: a key without a value (UntagResource)


@dataclass(frozen=True)
class Call:
    """One parsed AWS API call."""

    service: str  # IAM's service prefix: "ecs", "elasticloadbalancing", "cloudwatch"...
    operation: str  # the API operation: "RegisterTaskDefinition"
    params: Params  # its parameters, named as in botocore's models
    region: str = "us-east-1"
    account: str = "123456789012"


class UnknownOperationError(LookupError):
    """The table has no row for this operation: nobody knows what AWS would check."""

    def __init__(self, call: Call) -> None:
        super().__init__(
            f"{call.service}:{call.operation} is not in the request table "
            "(tools/iamsim/requests.py): its authorization is unknown"
        )
        self.call = call


class Facts:
    """What the table reads from the account: an empty account by default.

    The gate subclasses it with lookups in moto's backends.
    """

    def tags(self, arn: str) -> Mapping[str, str]:
        """The tags of the resource `arn` names ({} if it has none or does not exist)."""
        return {}

    def key_arn(self, key_id: str, region: str, account: str) -> str | None:
        """The ARN of the KMS key that a key ID, key ARN, alias name or alias ARN names."""
        return None

    def security_group_vpc(self, group_id: str) -> str | None:
        """The VPC ID of a security group."""
        return None

    def permissions_boundary(self, role_name: str) -> str | None:
        """The ARN of a role's permissions boundary, if it has one."""
        return None

    def role_arn(self, role_name: str) -> str | None:
        """The ARN of an existing role (its path is not in calls that name it)."""
        return None

    def bucket_key(self, bucket: str) -> str | None:
        """The customer-managed KMS key of a bucket's default encryption (SSE-KMS), if any."""
        return None

    def object_key(self, bucket: str, key: str) -> str | None:
        """The customer-managed KMS key an object is encrypted with, if any."""
        return None

    def scalable_target_arn(self, namespace: str, resource_id: str, dimension: str) -> str | None:
        """The ARN of a registered Application Auto Scaling target."""
        return None

    def next_revision(self, family: str) -> int | None:
        """The revision number the next RegisterTaskDefinition of `family` gets."""
        return None

    def alias_target(self, alias_arn: str) -> str | None:
        """The key ARN a KMS alias points at."""
        return None


# --- the rows ------------------------------------------------------------------------

Arns = Callable[[Call, Facts], list[str]]
ContextOf = Callable[[Call, Facts], Context]


@dataclass(frozen=True)
class Check:
    """One authorization of a call, before the caller is known."""

    action: str
    resource: str
    context: Context


Extra = Callable[[Call, Facts], list[Check]]


@dataclass(frozen=True)
class Row:
    """How AWS authorizes one operation.

    `resources` gives one ARN per resource the call acts on (one check each),
    or ``["*"]`` where the action has no resource type. `resource_tags` says
    whether aws:ResourceTag applies to those resources (AWS's tables say so
    per resource type; the tests check each row against them).
    """

    action: str
    resources: Arns
    resource_tags: bool = False
    request_tags: Callable[[Params], Tags] | None = None
    keys: ContextOf | None = None
    extra: tuple[Extra, ...] = ()

    def checks(self, call: Call, facts: Facts) -> list[Check]:
        base = _base_context(call)
        if self.request_tags is not None:
            base.update(_request_tag_keys(self.request_tags(call.params)))
        if self.keys is not None:
            base.update(self.keys(call, facts))
        found = []
        for arn in self.resources(call, facts):
            context = dict(base)
            if self.resource_tags:
                context.update(_resource_tag_keys(facts, arn))
            found.append(Check(self.action, arn, context))
        for extra in self.extra:
            found += extra(call, facts)
        return found


@dataclass(frozen=True)
class Free:
    """An operation that needs no permission at all (sts:GetCallerIdentity)."""

    action: str
    why: str

    def checks(self, call: Call, facts: Facts) -> list[Check]:
        return []


@dataclass
class Table:
    rows: dict[tuple[str, str], Row | Free] = field(default_factory=dict)

    def add(self, service: str, operation: str, row: Row | Free) -> None:
        if (service, operation) in self.rows:
            raise ValueError(f"{service}:{operation} has two rows")
        self.rows[(service, operation)] = row


def _base_context(call: Call) -> Context:
    # The emulator speaks plain HTTP on loopback; AWS's endpoints are HTTPS only.
    return {"aws:RequestedRegion": call.region, "aws:SecureTransport": "true"}


def _request_tag_keys(tags: Tags | None) -> Context:
    """aws:RequestTag/<key> for each tag given with a value, aws:TagKeys for every key."""
    if not tags:
        return {}
    context: Context = {f"aws:RequestTag/{k}": v for k, v in tags.items() if v is not None}
    context["aws:TagKeys"] = list(tags)
    return context


def _resource_tag_keys(facts: Facts, arn: str) -> Context:
    """aws:ResourceTag/<key> for each tag of an existing resource (none for one being made)."""
    if "*" in arn:
        return {}
    return {f"aws:ResourceTag/{k}": v for k, v in facts.tags(arn).items()}


def authorizations(
    call: Call, principal: str, facts: Facts | None = None, table: Table | None = None
) -> list[Request]:
    """Every authorization AWS makes for `call` by `principal`, in the order it makes them.

    Raises UnknownOperationError for an operation the table has no row for.
    """
    row = (table or TABLE).rows.get((call.service, call.operation))
    if row is None:
        raise UnknownOperationError(call)
    return [
        Request(principal, check.action, check.resource, check.context)
        for check in row.checks(call, facts or Facts())
    ]


# --- reading parameters ------------------------------------------------------------------


def _param(params: Params, path: str, default: Any = None) -> Any:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def _str(params: Params, path: str) -> str:
    value = _param(params, path)
    return "" if value is None else str(value)


def _strings(params: Params, path: str) -> list[str]:
    value = _param(params, path) or []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def tag_list(
    path: str, key: str = "Key", value: str = "Value"
) -> Callable[[Params], dict[str, str]]:
    """Tags given as [{Key, Value}] (names vary by service)."""

    def read(params: Params) -> dict[str, str]:
        return {
            str(tag.get(key)): str(tag.get(value, ""))
            for tag in _param(params, path) or []
            if isinstance(tag, Mapping)
        }

    return read


def tag_map(path: str) -> Callable[[Params], dict[str, str]]:
    """Tags given as a map {key: value}."""

    def read(params: Params) -> dict[str, str]:
        found = _param(params, path) or {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}

    return read


def tag_keys(path: str) -> Callable[[Params], Tags]:
    """Tag keys being removed: aws:TagKeys only (no values)."""

    def read(params: Params) -> Tags:
        return dict.fromkeys(_strings(params, path))

    return read


def ec2_tags(resource_type: str) -> Callable[[Params], dict[str, str]]:
    """EC2's TagSpecifications for one resource type."""

    def read(params: Params) -> dict[str, str]:
        found: dict[str, str] = {}
        for spec in _param(params, "TagSpecifications") or []:
            if spec.get("ResourceType") == resource_type:
                found.update(tag_list("Tags")(spec))
        return found

    return read


# --- ARNs -----------------------------------------------------------------------------


def _regional(service: str, call: Call, rest: str) -> str:
    return f"arn:{PARTITION}:{service}:{call.region}:{call.account}:{rest}"


def _global(service: str, call: Call, rest: str) -> str:
    return f"arn:{PARTITION}:{service}::{call.account}:{rest}"


def anything(call: Call, facts: Facts) -> list[str]:
    """The action has no resource type: "*" is the only resource."""
    return ["*"]


def given_arn(path: str) -> Arns:
    """The call names the resource by its ARN."""
    return lambda call, facts: [_str(call.params, path)]


def given_arns(path: str) -> Arns:
    return lambda call, facts: _strings(call.params, path)


def regional(service: str, template: str, *paths: str) -> Arns:
    """arn:aws:<service>:<region>:<account>:<template filled with the parameters at paths>."""

    def arns(call: Call, facts: Facts) -> list[str]:
        values = [_str(call.params, path) or "*" for path in paths]
        return [_regional(service, call, template.format(*values))]

    return arns


def _name(value: str) -> str:
    """The name at the end of an ARN, or the name itself."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


# ECS: clusters and services are named or given by ARN; the default cluster is "default".
def ecs_cluster(path: str) -> Arns:
    def arns(call: Call, facts: Facts) -> list[str]:
        names = _strings(call.params, path) or ["default"]
        return [_regional("ecs", call, f"cluster/{_name(name)}") for name in names]

    return arns


def ecs_services(path: str) -> Arns:
    def arns(call: Call, facts: Facts) -> list[str]:
        cluster = _name(_str(call.params, "cluster") or "default")
        found = []
        for service in _strings(call.params, path):
            if service.startswith("arn:") and service.count("/") == 2:
                found.append(service)
            else:
                found.append(_regional("ecs", call, f"service/{cluster}/{_name(service)}"))
        return found

    return arns


def _ecs_cluster_key(call: Call, facts: Facts) -> Context:
    cluster = _name(_str(call.params, "cluster") or "default")
    return {"ecs:cluster": _regional("ecs", call, f"cluster/{cluster}")}


def _ecs_service_keys(call: Call, facts: Facts) -> Context:
    context = _ecs_cluster_key(call, facts)
    definition = _str(call.params, "taskDefinition")
    if definition:
        context["ecs:task-definition"] = (
            definition
            if definition.startswith("arn:")
            else _regional("ecs", call, f"task-definition/{definition}")
        )
    return context


def _task_definition(call: Call, facts: Facts) -> list[str]:
    family = _str(call.params, "family")
    revision = facts.next_revision(family)
    return [_regional("ecs", call, f"task-definition/{family}:{revision or '*'}")]


def _task_definition_keys(call: Call, facts: Facts) -> Context:
    context: Context = {}
    for name, path in (("ecs:task-cpu", "cpu"), ("ecs:task-memory", "memory")):
        if _str(call.params, path):
            context[name] = _str(call.params, path)
    compatibilities = _strings(call.params, "requiresCompatibilities")
    if compatibilities:
        context["ecs:compute-compatibility"] = compatibilities
    privileged = any(
        bool(container.get("privileged"))
        for container in _param(call.params, "containerDefinitions") or []
    )
    context["ecs:privileged"] = "true" if privileged else "false"
    return context


# KMS: a key is named by its ID, its ARN, an alias name or an alias ARN.
def kms_key(path: str) -> Arns:
    def arns(call: Call, facts: Facts) -> list[str]:
        given = _str(call.params, path)
        found = facts.key_arn(given, call.region, call.account)
        if found:
            return [found]
        if given.startswith("arn:"):
            return [given]
        return [_regional("kms", call, f"key/{given}")]

    return arns


def _kms_alias(call: Call, facts: Facts) -> list[str]:
    name = _str(call.params, "AliasName")
    return [_regional("kms", call, name if name.startswith("alias/") else f"alias/{name}")]


def _kms_alias_target(call: Call, facts: Facts) -> list[str]:
    """DeleteAlias: the key the alias points at (AWS checks both)."""
    target = facts.alias_target(_kms_alias(call, facts)[0])
    return [target] if target else []


def _kms_caller_account(call: Call, facts: Facts) -> Context:
    return {"kms:CallerAccount": call.account}


def _kms_create_keys(call: Call, facts: Facts) -> Context:
    context = _kms_caller_account(call, facts)
    spec = _str(call.params, "KeySpec") or _str(call.params, "CustomerMasterKeySpec")
    context["kms:KeySpec"] = spec or "SYMMETRIC_DEFAULT"
    context["kms:KeyUsage"] = _str(call.params, "KeyUsage") or "ENCRYPT_DECRYPT"
    context["kms:KeyOrigin"] = _str(call.params, "Origin") or "AWS_KMS"
    context["kms:MultiRegion"] = "true" if _param(call.params, "MultiRegion") else "false"
    return context


def _kms_deletion_keys(call: Call, facts: Facts) -> Context:
    context = _kms_caller_account(call, facts)
    context["kms:ScheduleKeyDeletionPendingWindowInDays"] = str(
        _param(call.params, "PendingWindowInDays", 30)
    )
    return context


def via(
    service: str,
    action: str,
    key: Callable[[Call, Facts], str | None],
    encryption_arn: Arns | None = None,
) -> Extra:
    """A KMS action `service` makes on the caller's behalf, with the caller's permissions."""

    def checks(call: Call, facts: Facts) -> list[Check]:
        arn = key(call, facts)
        if not arn:
            return []
        context = _base_context(call)
        context.update(_resource_tag_keys(facts, arn))
        context.update(_kms_caller_account(call, facts))
        context["kms:ViaService"] = f"{service}.{call.region}.amazonaws.com"
        context["aws:CalledVia"] = [f"{service}.amazonaws.com"]
        context["aws:ViaAWSService"] = "false"  # the caller's own credentials, forwarded
        if encryption_arn is not None:
            context["kms:EncryptionContext:aws:s3:arn"] = encryption_arn(call, facts)[0]
        return [Check(action, arn, context)]

    return checks


# IAM
def iam_role(call: Call, facts: Facts) -> list[str]:
    """The role a call names: by its path and name when created, else as it exists."""
    name = _str(call.params, "RoleName")
    existing = None if call.operation == "CreateRole" else facts.role_arn(name)
    role_path = _str(call.params, "Path") or "/"
    return [existing or _global("iam", call, f"role{role_path}{name}")]


def _boundary_of_role(call: Call, facts: Facts) -> Context:
    boundary = facts.permissions_boundary(_str(call.params, "RoleName"))
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def _boundary_requested(call: Call, facts: Facts) -> Context:
    boundary = _str(call.params, "PermissionsBoundary")
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def _attach_keys(call: Call, facts: Facts) -> Context:
    return {"iam:PolicyARN": _str(call.params, "PolicyArn"), **_boundary_of_role(call, facts)}


def _iam_user(call: Call, facts: Facts) -> list[str]:
    return [_global("iam", call, f"user/{_str(call.params, 'UserName')}")]


def _iam_policy(call: Call, facts: Facts) -> list[str]:
    path = _str(call.params, "Path") or "/"
    return [_global("iam", call, f"policy{path}{_str(call.params, 'PolicyName')}")]


def _oidc_provider(call: Call, facts: Facts) -> list[str]:
    host = _str(call.params, "Url").removeprefix("https://").rstrip("/")
    return [_global("iam", call, f"oidc-provider/{host}")]


def _service_linked_role(call: Call, facts: Facts) -> list[str]:
    service = _str(call.params, "AWSServiceName")
    return [_global("iam", call, f"role/aws-service-role/{service}/*")]


def pass_role(paths: Sequence[str], to_service: str) -> Extra:
    """iam:PassRole for each role ARN the call names, to `to_service`."""

    def checks(call: Call, facts: Facts) -> list[Check]:
        found = []
        for path in paths:
            role = _str(call.params, path)
            if role:
                context = _base_context(call)
                context.update(_resource_tag_keys(facts, role))
                context["iam:PassedToService"] = to_service
                found.append(Check("iam:PassRole", role, context))
        return found

    return checks


def on_resources(action: str, resources: Arns, keys: ContextOf | None = None) -> Extra:
    """The same kind of check on further resources of the call, with their own tags."""

    def checks(call: Call, facts: Facts) -> list[Check]:
        return Row(action, resources, resource_tags=True, keys=keys).checks(call, facts)

    return checks


def tag_on_create(
    action: str,
    tags: Callable[[Params], Tags],
    resources: Arns,
    create_action_key: str | None = None,
) -> Extra:
    """A create call that carries tags needs the service's tagging action on the new resource."""

    def checks(call: Call, facts: Facts) -> list[Check]:
        given = tags(call.params)
        if not given:
            return []
        context = _base_context(call)
        context.update(_request_tag_keys(given))
        if create_action_key:
            context[create_action_key] = call.operation
        return [
            Check(action, arn, {**context, **_resource_tag_keys(facts, arn)})
            for arn in resources(call, facts)
        ]

    return checks


# EC2
def _sg_arn(call: Call, group_id: str) -> str:
    return _regional("ec2", call, f"security-group/{group_id}")


def _security_group(call: Call, facts: Facts) -> list[str]:
    return [_sg_arn(call, _str(call.params, "GroupId") or "*")]


def _security_group_vpc(call: Call, facts: Facts) -> Context:
    vpc = facts.security_group_vpc(_str(call.params, "GroupId"))
    return {"ec2:Vpc": _regional("ec2", call, f"vpc/{vpc}")} if vpc else {}


def _new_rule(call: Call, facts: Facts) -> list[str]:
    return [_regional("ec2", call, "security-group-rule/*")]


def _rule_arns(call: Call, facts: Facts) -> list[str]:
    return [
        _regional("ec2", call, f"security-group-rule/{rule}")
        for rule in _strings(call.params, "SecurityGroupRuleIds")
    ]


def _modified_rule_arns(call: Call, facts: Facts) -> list[str]:
    return [
        _regional("ec2", call, f"security-group-rule/{rule['SecurityGroupRuleId']}")
        for rule in _param(call.params, "SecurityGroupRules") or []
    ]


def _rule_tags_on_authorize(call: Call, facts: Facts) -> list[Check]:
    """A rule created with tags: the new rule is authorized too, with its tags."""
    tags = ec2_tags("security-group-rule")(call.params)
    if not tags:
        return []
    context = _base_context(call)
    context.update(_request_tag_keys(tags))
    return [Check(f"ec2:{call.operation}", arn, context) for arn in _new_rule(call, facts)]


def _ec2_resource_arn(call: Call, resource_id: str) -> str:
    kinds = {
        "sg-": "security-group",
        "sgr-": "security-group-rule",
        "vpc-": "vpc",
        "subnet-": "subnet",
        "pl-": "prefix-list",
        "eni-": "network-interface",
    }
    for prefix, kind in sorted(kinds.items(), key=lambda item: -len(item[0])):
        if resource_id.startswith(prefix):
            return _regional("ec2", call, f"{kind}/{resource_id}")
    return _regional("ec2", call, resource_id)


def _ec2_resources(call: Call, facts: Facts) -> list[str]:
    return [_ec2_resource_arn(call, item) for item in _strings(call.params, "Resources")]


def _new_security_group(call: Call, facts: Facts) -> list[Check]:
    """CreateSecurityGroup acts on the VPC and on the new group (with its tags and VPC)."""
    context = _base_context(call)
    context.update(_request_tag_keys(ec2_tags("security-group")(call.params)))
    vpc = _str(call.params, "VpcId")
    if vpc:
        context["ec2:Vpc"] = _regional("ec2", call, f"vpc/{vpc}")
    return [Check("ec2:CreateSecurityGroup", _regional("ec2", call, "security-group/*"), context)]


def _vpc(call: Call, facts: Facts) -> list[str]:
    return [_regional("ec2", call, f"vpc/{_str(call.params, 'VpcId') or '*'}")]


# Route53: IDs come as "Z123" or "/hostedzone/Z123".
def _hosted_zone(path: str) -> Arns:
    return lambda call, facts: [
        f"arn:{PARTITION}:route53:::hostedzone/{_name(_str(call.params, path))}"
    ]


def _change(call: Call, facts: Facts) -> list[str]:
    return [f"arn:{PARTITION}:route53:::change/{_name(_str(call.params, 'Id'))}"]


def _tagged_zone(call: Call, facts: Facts) -> list[str]:
    kind = _str(call.params, "ResourceType") or "hostedzone"
    return [f"arn:{PARTITION}:route53:::{kind}/{_str(call.params, 'ResourceId')}"]


def normalized_record_name(name: str) -> str:
    """Route53's normalized name: lower case, no trailing dot, escapes such as \\052 decoded."""
    decoded = []
    index = 0
    while index < len(name):
        if name[index] == "\\" and name[index + 1 : index + 4].isdigit():
            decoded.append(chr(int(name[index + 1 : index + 4], 8)))
            index += 4
        else:
            decoded.append(name[index])
            index += 1
    return "".join(decoded).lower().rstrip(".")


def _record_changes(call: Call, facts: Facts) -> Context:
    changes = _param(call.params, "ChangeBatch.Changes") or []
    names = [normalized_record_name(_str(c, "ResourceRecordSet.Name")) for c in changes]
    types = [_str(c, "ResourceRecordSet.Type") for c in changes]
    actions = [_str(c, "Action") for c in changes]
    return {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
        "route53:ChangeResourceRecordSetsRecordTypes": types,
        "route53:ChangeResourceRecordSetsActions": actions,
    }


# S3
def _bucket(call: Call, facts: Facts) -> list[str]:
    return [f"arn:{PARTITION}:s3:::{_str(call.params, 'Bucket')}"]


def _object(call: Call, facts: Facts) -> list[str]:
    return [f"arn:{PARTITION}:s3:::{_str(call.params, 'Bucket')}/{_str(call.params, 'Key')}"]


def _objects(call: Call, facts: Facts) -> list[str]:
    bucket = _str(call.params, "Bucket")
    return [
        f"arn:{PARTITION}:s3:::{bucket}/{item.get('Key')}"
        for item in _param(call.params, "Delete.Objects") or []
    ]


def _s3_keys(call: Call, facts: Facts) -> Context:
    # TLS 1.3 for the same reason as aws:SecureTransport.
    return {"s3:TlsVersion": "1.3", "s3:signatureversion": "AWS4-HMAC-SHA256"}


def _s3_list_keys(call: Call, facts: Facts) -> Context:
    context = _s3_keys(call, facts)
    for key, path in (("s3:prefix", "Prefix"), ("s3:delimiter", "Delimiter")):
        if _str(call.params, path):
            context[key] = _str(call.params, path)
    if _param(call.params, "MaxKeys") is not None:
        context["s3:max-keys"] = str(_param(call.params, "MaxKeys"))
    return context


def _s3_write_keys(call: Call, facts: Facts) -> Context:
    context = _s3_keys(call, facts)
    sse = _str(call.params, "ServerSideEncryption")
    if sse:
        context["s3:x-amz-server-side-encryption"] = sse
    key = _str(call.params, "SSEKMSKeyId")
    if key:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key
    return context


def _put_object_key(call: Call, facts: Facts) -> str | None:
    given = _str(call.params, "SSEKMSKeyId")
    if given:
        return facts.key_arn(given, call.region, call.account) or given
    if _str(call.params, "ServerSideEncryption") in ("", "aws:kms", "aws:kms:dsse"):
        return facts.bucket_key(_str(call.params, "Bucket"))
    return None


def _stored_object_key(call: Call, facts: Facts) -> str | None:
    return facts.object_key(_str(call.params, "Bucket"), _str(call.params, "Key"))


# ELB: resources created get their ID from AWS.
def _new_load_balancer(call: Call, facts: Facts) -> list[str]:
    kind = {"network": "net", "gateway": "gwy"}.get(_str(call.params, "Type"), "app")
    return [
        _regional(
            "elasticloadbalancing", call, f"loadbalancer/{kind}/{_str(call.params, 'Name')}/*"
        )
    ]


def _new_target_group(call: Call, facts: Facts) -> list[str]:
    return [_regional("elasticloadbalancing", call, f"targetgroup/{_str(call.params, 'Name')}/*")]


def _load_balancer(call: Call, facts: Facts) -> list[str]:
    return [_str(call.params, "LoadBalancerArn")]


def _listener(call: Call, facts: Facts) -> list[str]:
    return [_str(call.params, "ListenerArn")]


def _new_listener(call: Call, facts: Facts) -> list[str]:
    balancer = _str(call.params, "LoadBalancerArn")
    return [balancer.replace(":loadbalancer/", ":listener/", 1) + "/*"]


def _new_rule_of_listener(call: Call, facts: Facts) -> list[str]:
    listener = _str(call.params, "ListenerArn")
    return [listener.replace(":listener/", ":listener-rule/", 1) + "/*"]


# Application Auto Scaling: targets get generated IDs.
def _scalable_target(call: Call, facts: Facts) -> list[str]:
    found = facts.scalable_target_arn(
        _str(call.params, "ServiceNamespace"),
        _str(call.params, "ResourceId"),
        _str(call.params, "ScalableDimension"),
    )
    return [found or _regional("application-autoscaling", call, "scalable-target/*")]


def _scaling_keys(call: Call, facts: Facts) -> Context:
    return {
        "application-autoscaling:service-namespace": _str(call.params, "ServiceNamespace"),
        "application-autoscaling:scalable-dimension": _str(call.params, "ScalableDimension"),
    }


# CloudWatch
def _alarms(path: str) -> Arns:
    def arns(call: Call, facts: Facts) -> list[str]:
        names = _strings(call.params, path)
        return [_regional("cloudwatch", call, f"alarm:{name}") for name in names] or [
            _regional("cloudwatch", call, "alarm:*")
        ]

    return arns


def _dashboards(path: str) -> Arns:
    def arns(call: Call, facts: Facts) -> list[str]:
        return [_global("cloudwatch", call, f"dashboard/{n}") for n in _strings(call.params, path)]

    return arns


def _alarm_actions(call: Call, facts: Facts) -> Context:
    actions = _strings(call.params, "AlarmActions")
    return {"cloudwatch:AlarmActions": actions} if actions else {}


# Logs: ARNs of log groups may end in ":*" (DescribeLogGroups gives them so).
def _log_group(call: Call, facts: Facts) -> list[str]:
    return [_regional("logs", call, f"log-group:{_str(call.params, 'logGroupName')}")]


def _logs_resource(call: Call, facts: Facts) -> list[str]:
    return [_str(call.params, "resourceArn").removesuffix(":*")]


# SNS
def _new_topic(call: Call, facts: Facts) -> list[str]:
    return [_regional("sns", call, _str(call.params, "Name"))]


def _subscribe_keys(call: Call, facts: Facts) -> Context:
    return {
        "sns:Endpoint": _str(call.params, "Endpoint"),
        "sns:Protocol": _str(call.params, "Protocol"),
    }


# ECR
def ecr_repository(path: str = "repositoryName") -> Arns:
    return regional("ecr", "repository/{}", path)


def _ecr_repositories(call: Call, facts: Facts) -> list[str]:
    names = _strings(call.params, "repositoryNames")
    return [_regional("ecr", call, f"repository/{name}") for name in names] or [
        _regional("ecr", call, "repository/*")
    ]


def _ecr_key(call: Call, facts: Facts) -> str | None:
    if _str(call.params, "encryptionConfiguration.encryptionType") != "KMS":
        return None
    given = _str(call.params, "encryptionConfiguration.kmsKey")
    return (facts.key_arn(given, call.region, call.account) or given) if given else None


# ACM
def _acm_request_keys(call: Call, facts: Facts) -> Context:
    names = [_str(call.params, "DomainName"), *_strings(call.params, "SubjectAlternativeNames")]
    context: Context = {"acm:DomainNames": list(dict.fromkeys(name for name in names if name))}
    context["acm:ValidationMethod"] = _str(call.params, "ValidationMethod") or "EMAIL"
    context["acm:KeyAlgorithm"] = _str(call.params, "KeyAlgorithm") or "RSA_2048"
    return context


def _new_certificate(call: Call, facts: Facts) -> list[str]:
    return [_regional("acm", call, "certificate/*")]


# --- the table --------------------------------------------------------------------------

TABLE = Table()


def _names(spaced: str) -> list[str]:
    return spaced.split()


def _rows(service: str, rows: Iterable[tuple[str, Row | Free]]) -> None:
    for operation, row in rows:
        TABLE.add(service, operation, row)


def _same(service: str, operation: str, resources: Arns, **options: Any) -> tuple[str, Row]:
    """A row whose action is named as the operation."""
    return operation, Row(f"{service}:{operation}", resources, **options)


_acm_tags = tag_list("Tags")
_rows(
    "acm",
    [
        (
            "RequestCertificate",
            Row(
                "acm:RequestCertificate",
                anything,
                request_tags=_acm_tags,
                keys=_acm_request_keys,
                extra=(tag_on_create("acm:AddTagsToCertificate", _acm_tags, _new_certificate),),
            ),
        ),
        _same("acm", "DescribeCertificate", given_arn("CertificateArn"), resource_tags=True),
        _same("acm", "GetCertificate", given_arn("CertificateArn"), resource_tags=True),
        _same("acm", "ListTagsForCertificate", given_arn("CertificateArn"), resource_tags=True),
        _same(
            "acm", "AddTagsToCertificate", given_arn("CertificateArn"),
            resource_tags=True, request_tags=_acm_tags,
        ),
        _same(
            "acm", "RemoveTagsFromCertificate", given_arn("CertificateArn"),
            resource_tags=True, request_tags=_acm_tags,
        ),
        _same("acm", "DeleteCertificate", given_arn("CertificateArn"), resource_tags=True),
        _same("acm", "ListCertificates", anything),
    ],
)  # fmt: skip

_aas_tags = tag_map("Tags")
_rows(
    "application-autoscaling",
    [
        _same(
            "application-autoscaling", "RegisterScalableTarget", _scalable_target,
            resource_tags=True, request_tags=_aas_tags, keys=_scaling_keys,
            extra=(
                tag_on_create("application-autoscaling:TagResource", _aas_tags, _scalable_target),
                pass_role(("RoleARN",), "application-autoscaling.amazonaws.com"),
            ),
        ),
        _same("application-autoscaling", "DescribeScalableTargets", anything),
        _same("application-autoscaling", "DescribeScalingPolicies", anything),
        _same("application-autoscaling", "DescribeScalingActivities", anything),
        _same(
            "application-autoscaling", "PutScalingPolicy", _scalable_target,
            resource_tags=True, keys=_scaling_keys,
        ),
        _same(
            "application-autoscaling", "DeleteScalingPolicy", _scalable_target,
            resource_tags=True, keys=_scaling_keys,
        ),
        _same(
            "application-autoscaling", "DeregisterScalableTarget", _scalable_target,
            resource_tags=True, keys=_scaling_keys,
        ),
        _same(
            "application-autoscaling", "ListTagsForResource", given_arn("ResourceARN"),
            resource_tags=True,
        ),
        _same(
            "application-autoscaling", "TagResource", given_arn("ResourceARN"),
            resource_tags=True, request_tags=_aas_tags,
        ),
        _same(
            "application-autoscaling", "UntagResource", given_arn("ResourceARN"),
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
    ],
)  # fmt: skip

_cw_tags = tag_list("Tags")
_rows(
    "cloudwatch",
    [
        _same(
            "cloudwatch", "PutMetricAlarm", _alarms("AlarmName"),
            resource_tags=True, request_tags=_cw_tags, keys=_alarm_actions,
            extra=(tag_on_create("cloudwatch:TagResource", _cw_tags, _alarms("AlarmName")),),
        ),
        _same("cloudwatch", "DescribeAlarms", _alarms("AlarmNames"), resource_tags=True),
        _same("cloudwatch", "DeleteAlarms", _alarms("AlarmNames"), resource_tags=True),
        _same("cloudwatch", "GetDashboard", _dashboards("DashboardName")),
        _same("cloudwatch", "PutDashboard", _dashboards("DashboardName")),
        _same("cloudwatch", "DeleteDashboards", _dashboards("DashboardNames")),
        _same("cloudwatch", "ListDashboards", anything),
        _same("cloudwatch", "ListTagsForResource", given_arn("ResourceARN"), resource_tags=True),
        _same(
            "cloudwatch", "TagResource", given_arn("ResourceARN"),
            resource_tags=True, request_tags=_cw_tags,
        ),
        _same(
            "cloudwatch", "UntagResource", given_arn("ResourceARN"),
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
    ],
)  # fmt: skip

_ec2_sg = {"resource_tags": True, "keys": _security_group_vpc}
_rows(
    "ec2",
    [
        *(
            _same("ec2", name, anything)
            for name in _names(
                "DescribeAccountAttributes DescribeAvailabilityZones"
                " DescribeManagedPrefixLists DescribeNetworkInterfaces DescribePrefixLists"
                " DescribeRouteTables DescribeSecurityGroupRules DescribeSecurityGroups"
                " DescribeSubnets DescribeVpcs DescribeVpcEndpoints"
            )
        ),
        _same("ec2", "DescribeVpcAttribute", _vpc, resource_tags=True),
        _same(
            "ec2", "GetManagedPrefixListEntries",
            regional("ec2", "prefix-list/{}", "PrefixListId"), resource_tags=True,
        ),
        _same(
            "ec2", "CreateSecurityGroup", _vpc, resource_tags=True,
            extra=(
                _new_security_group,
                tag_on_create(
                    "ec2:CreateTags", ec2_tags("security-group"),
                    regional("ec2", "security-group/*"), "ec2:CreateAction",
                ),
            ),
        ),
        _same("ec2", "DeleteSecurityGroup", _security_group, **_ec2_sg),
        *(
            _same(
                "ec2", name, _security_group, **_ec2_sg,
                extra=(
                    _rule_tags_on_authorize,
                    tag_on_create(
                        "ec2:CreateTags", ec2_tags("security-group-rule"), _new_rule,
                        "ec2:CreateAction",
                    ),
                ),
            )
            for name in ("AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress")
        ),
        *(
            _same("ec2", name, _security_group, **_ec2_sg)
            for name in _names(
                "RevokeSecurityGroupEgress RevokeSecurityGroupIngress"
                " UpdateSecurityGroupRuleDescriptionsEgress"
                " UpdateSecurityGroupRuleDescriptionsIngress"
            )
        ),
        _same(
            "ec2", "ModifySecurityGroupRules", _security_group, **_ec2_sg,
            extra=(on_resources("ec2:ModifySecurityGroupRules", _modified_rule_arns),),
        ),
        _same(
            "ec2", "CreateTags", _ec2_resources,
            resource_tags=True, request_tags=tag_list("Tags"),
        ),
        _same(
            "ec2", "DeleteTags", _ec2_resources,
            resource_tags=True, request_tags=tag_list("Tags"),
        ),
        # What an account has before finlex: made by the rehearsal as an administrator.
        _same(
            "ec2", "CreateVpc", regional("ec2", "vpc/*"),
            request_tags=ec2_tags("vpc"),
        ),
        _same(
            "ec2", "CreateSubnet", regional("ec2", "subnet/*"),
            request_tags=ec2_tags("subnet"),
            extra=(on_resources("ec2:CreateSubnet", _vpc),),
        ),
        _same(
            "ec2", "CreateManagedPrefixList", regional("ec2", "prefix-list/*"),
            request_tags=ec2_tags("prefix-list"),
        ),
    ],
)  # fmt: skip

_ecr_tags = tag_list("tags")
_ecr_repo = {"resource_tags": True}
_rows(
    "ecr",
    [
        _same(
            "ecr", "CreateRepository", ecr_repository(),
            resource_tags=True, request_tags=_ecr_tags,
            extra=(
                tag_on_create("ecr:TagResource", _ecr_tags, ecr_repository()),
                via("ecr", "kms:DescribeKey", _ecr_key),
                via("ecr", "kms:CreateGrant", _ecr_key),
            ),
        ),
        _same("ecr", "DescribeRepositories", _ecr_repositories, **_ecr_repo),
        *(
            _same("ecr", name, ecr_repository(), **_ecr_repo)
            for name in _names(
                "BatchCheckLayerAvailability BatchDeleteImage BatchGetImage"
                " CompleteLayerUpload DeleteLifecyclePolicy DeleteRepository"
                " DeleteRepositoryPolicy DescribeImageScanFindings DescribeImages"
                " GetDownloadUrlForLayer GetLifecyclePolicy GetRepositoryPolicy"
                " InitiateLayerUpload ListImages PutImage PutImageScanningConfiguration"
                " PutImageTagMutability PutLifecyclePolicy SetRepositoryPolicy"
                " StartImageScan UploadLayerPart"
            )
        ),
        _same("ecr", "GetAuthorizationToken", anything),
        _same("ecr", "ListTagsForResource", given_arn("resourceArn"), **_ecr_repo),
        _same(
            "ecr", "TagResource", given_arn("resourceArn"),
            **_ecr_repo, request_tags=_ecr_tags,
        ),
        _same(
            "ecr", "UntagResource", given_arn("resourceArn"),
            **_ecr_repo, request_tags=tag_keys("tagKeys"),
        ),
    ],
)  # fmt: skip

_ecs_tags = tag_list("tags", "key", "value")
_rows(
    "ecs",
    [
        _same(
            "ecs", "CreateCluster", ecs_cluster("clusterName"),
            resource_tags=True, request_tags=_ecs_tags,
            extra=(
                tag_on_create(
                    "ecs:TagResource", _ecs_tags, ecs_cluster("clusterName"), "ecs:CreateAction"
                ),
            ),
        ),
        _same("ecs", "DescribeClusters", ecs_cluster("clusters"), resource_tags=True),
        *(
            _same("ecs", name, ecs_cluster("cluster"), resource_tags=True)
            for name in _names(
                "DeleteCluster PutClusterCapacityProviders UpdateCluster"
                " UpdateClusterSettings"
            )
        ),
        _same("ecs", "ListClusters", anything),
        _same("ecs", "ListServices", anything, keys=_ecs_cluster_key),
        _same(
            "ecs", "RegisterTaskDefinition", _task_definition,
            resource_tags=True, request_tags=_ecs_tags, keys=_task_definition_keys,
            extra=(
                pass_role(("taskRoleArn", "executionRoleArn"), "ecs-tasks.amazonaws.com"),
                tag_on_create("ecs:TagResource", _ecs_tags, _task_definition, "ecs:CreateAction"),
            ),
        ),
        _same("ecs", "DescribeTaskDefinition", anything),
        _same("ecs", "DeregisterTaskDefinition", anything),
        _same("ecs", "ListTaskDefinitions", anything),
        _same("ecs", "ListTaskDefinitionFamilies", anything),
        _same(
            "ecs", "CreateService", ecs_services("serviceName"),
            resource_tags=True, request_tags=_ecs_tags, keys=_ecs_service_keys,
            extra=(
                tag_on_create(
                    "ecs:TagResource", _ecs_tags, ecs_services("serviceName"), "ecs:CreateAction"
                ),
                pass_role(("role",), "ecs.amazonaws.com"),
            ),
        ),
        _same(
            "ecs", "UpdateService", ecs_services("service"),
            resource_tags=True, keys=_ecs_service_keys,
        ),
        _same(
            "ecs", "DeleteService", ecs_services("service"),
            resource_tags=True, keys=_ecs_cluster_key,
        ),
        _same(
            "ecs", "DescribeServices", ecs_services("services"),
            resource_tags=True, keys=_ecs_cluster_key,
        ),
        _same(
            "ecs", "ListServiceDeployments", ecs_services("service"),
            resource_tags=True, keys=_ecs_cluster_key,
        ),
        _same(
            "ecs", "DescribeServiceDeployments", given_arns("serviceDeploymentArns"),
            resource_tags=True,
        ),
        _same("ecs", "ListTagsForResource", given_arn("resourceArn"), resource_tags=True),
        _same(
            "ecs", "TagResource", given_arn("resourceArn"),
            resource_tags=True, request_tags=_ecs_tags,
        ),
        _same(
            "ecs", "UntagResource", given_arn("resourceArn"),
            resource_tags=True, request_tags=tag_keys("tagKeys"),
        ),
    ],
)  # fmt: skip

_elb_tags = tag_list("Tags")


def _elb_create(operation: str, resources: Arns, created: Arns) -> tuple[str, Row]:
    """A create acts on `resources` (the new one, or its parent) and tags what it creates."""
    return _same(
        "elasticloadbalancing", operation, resources,
        resource_tags=True, request_tags=_elb_tags,
        extra=(
            tag_on_create(
                "elasticloadbalancing:AddTags", _elb_tags, created,
                "elasticloadbalancing:CreateAction",
            ),
        ),
    )  # fmt: skip


_rows(
    "elasticloadbalancing",
    [
        _elb_create("CreateLoadBalancer", _new_load_balancer, _new_load_balancer),
        _elb_create("CreateTargetGroup", _new_target_group, _new_target_group),
        # A listener is created on its load balancer, a rule on its listener.
        _elb_create("CreateListener", _load_balancer, _new_listener),
        _elb_create("CreateRule", _listener, _new_rule_of_listener),
        *(
            _same("elasticloadbalancing", name, anything)
            for name in _names(
                "DescribeCapacityReservation DescribeListenerAttributes"
                " DescribeListenerCertificates DescribeListeners"
                " DescribeLoadBalancerAttributes DescribeLoadBalancers DescribeRules"
                " DescribeTags DescribeTargetGroupAttributes DescribeTargetGroups"
                " DescribeTargetHealth"
            )
        ),
        *(
            _same("elasticloadbalancing", name, given_arn("LoadBalancerArn"), resource_tags=True)
            for name in _names(
                "DeleteLoadBalancer ModifyLoadBalancerAttributes SetIpAddressType"
                " SetSecurityGroups SetSubnets"
            )
        ),
        *(
            _same("elasticloadbalancing", name, given_arn("TargetGroupArn"), resource_tags=True)
            for name in ("DeleteTargetGroup", "ModifyTargetGroup", "ModifyTargetGroupAttributes")
        ),
        *(
            _same("elasticloadbalancing", name, given_arn("ListenerArn"), resource_tags=True)
            for name in _names(
                "AddListenerCertificates DeleteListener ModifyListener"
                " ModifyListenerAttributes RemoveListenerCertificates"
            )
        ),
        *(
            _same("elasticloadbalancing", name, given_arn("RuleArn"), resource_tags=True)
            for name in ("DeleteRule", "ModifyRule")
        ),
        _same(
            "elasticloadbalancing", "AddTags", given_arns("ResourceArns"),
            resource_tags=True, request_tags=_elb_tags,
        ),
        _same(
            "elasticloadbalancing", "RemoveTags", given_arns("ResourceArns"),
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
    ],
)  # fmt: skip

_iam_tags = tag_list("Tags")
_role = {"resource_tags": True, "keys": _boundary_of_role}
_rows(
    "iam",
    [
        _same(
            "iam", "CreateRole", iam_role,
            resource_tags=True, request_tags=_iam_tags, keys=_boundary_requested,
            extra=(tag_on_create("iam:TagRole", _iam_tags, iam_role),),
        ),
        *(
            _same("iam", name, iam_role, **_role)
            for name in _names(
                "DeleteRole DeleteRolePolicy GetRole PutRolePolicy UpdateAssumeRolePolicy"
                " UpdateRole UpdateRoleDescription DeleteRolePermissionsBoundary"
            )
        ),
        *(
            _same("iam", name, iam_role, resource_tags=True)
            for name in _names(
                "GetRolePolicy ListAttachedRolePolicies ListInstanceProfilesForRole"
                " ListRolePolicies ListRoleTags"
            )
        ),
        _same(
            "iam", "PutRolePermissionsBoundary", iam_role,
            resource_tags=True, keys=_boundary_requested,
        ),
        *(
            _same("iam", name, iam_role, resource_tags=True, keys=_attach_keys)
            for name in ("AttachRolePolicy", "DetachRolePolicy")
        ),
        _same("iam", "TagRole", iam_role, resource_tags=True, request_tags=_iam_tags),
        _same(
            "iam", "UntagRole", iam_role,
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
        _same(
            "iam", "CreateServiceLinkedRole", _service_linked_role,
            resource_tags=True,
            keys=lambda call, facts: {"iam:AWSServiceName": _str(call.params, "AWSServiceName")},
        ),
        _same(
            "iam", "CreatePolicy", _iam_policy,
            resource_tags=True, request_tags=_iam_tags,
            extra=(tag_on_create("iam:TagPolicy", _iam_tags, _iam_policy),),
        ),
        *(
            _same("iam", name, given_arn("PolicyArn"), resource_tags=True)
            for name in _names(
                "CreatePolicyVersion DeletePolicy DeletePolicyVersion GetPolicy"
                " GetPolicyVersion ListPolicyVersions ListPolicyTags ListEntitiesForPolicy"
                " SetDefaultPolicyVersion"
            )
        ),
        _same(
            "iam", "TagPolicy", given_arn("PolicyArn"),
            resource_tags=True, request_tags=_iam_tags,
        ),
        _same(
            "iam", "UntagPolicy", given_arn("PolicyArn"),
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
        _same(
            "iam", "CreateOpenIDConnectProvider", _oidc_provider,
            resource_tags=True, request_tags=_iam_tags,
            extra=(tag_on_create("iam:TagOpenIDConnectProvider", _iam_tags, _oidc_provider),),
        ),
        *(
            _same("iam", name, given_arn("OpenIDConnectProviderArn"), resource_tags=True)
            for name in _names(
                "DeleteOpenIDConnectProvider GetOpenIDConnectProvider"
                " ListOpenIDConnectProviderTags UpdateOpenIDConnectProviderThumbprint"
                " AddClientIDToOpenIDConnectProvider"
                " RemoveClientIDFromOpenIDConnectProvider"
            )
        ),
        _same(
            "iam", "TagOpenIDConnectProvider", given_arn("OpenIDConnectProviderArn"),
            resource_tags=True, request_tags=_iam_tags,
        ),
        _same(
            "iam", "UntagOpenIDConnectProvider", given_arn("OpenIDConnectProviderArn"),
            resource_tags=True, request_tags=tag_keys("TagKeys"),
        ),
        *(
            _same("iam", name, anything)
            for name in ("ListOpenIDConnectProviders", "ListPolicies", "ListRoles", "ListUsers")
        ),
        # The rehearsal's own users (the release tool's credentials): an administrator's step.
        *(
            _same("iam", name, _iam_user, resource_tags=True)
            for name in ("CreateAccessKey", "CreateUser", "GetUser", "PutUserPolicy")
        ),
    ],
)  # fmt: skip

_kms_tags = tag_list("Tags", "TagKey", "TagValue")
_key = {"resource_tags": True, "keys": _kms_caller_account}
_rows(
    "kms",
    [
        _same(
            "kms", "CreateKey", anything,
            request_tags=_kms_tags, keys=_kms_create_keys,
            extra=(
                tag_on_create("kms:TagResource", _kms_tags, regional("kms", "key/*")),
            ),
        ),
        *(
            _same("kms", name, kms_key("KeyId"), **_key)
            for name in _names(
                "CancelKeyDeletion DescribeKey DisableKey DisableKeyRotation EnableKey"
                " EnableKeyRotation GetKeyPolicy GetKeyRotationStatus ListKeyPolicies"
                " ListResourceTags PutKeyPolicy UpdateKeyDescription"
            )
        ),
        _same(
            "kms", "ScheduleKeyDeletion", kms_key("KeyId"),
            resource_tags=True, keys=_kms_deletion_keys,
        ),
        _same(
            "kms", "TagResource", kms_key("KeyId"),
            **_key, request_tags=_kms_tags,
        ),
        _same(
            "kms", "UntagResource", kms_key("KeyId"),
            **_key, request_tags=tag_keys("TagKeys"),
        ),
        _same(
            "kms", "CreateAlias", _kms_alias, keys=_kms_caller_account,
            extra=(on_resources("kms:CreateAlias", kms_key("TargetKeyId"), _kms_caller_account),),
        ),
        _same(
            "kms", "DeleteAlias", _kms_alias, keys=_kms_caller_account,
            extra=(on_resources("kms:DeleteAlias", _kms_alias_target, _kms_caller_account),),
        ),
        _same("kms", "ListAliases", anything),
        _same("kms", "ListKeys", anything),
    ],
)  # fmt: skip

_rows(
    "logs",
    [
        _same(
            "logs", "CreateLogGroup", _log_group,
            resource_tags=True, request_tags=tag_map("tags"),
            extra=(tag_on_create("logs:TagResource", tag_map("tags"), _log_group),),
        ),
        _same("logs", "DescribeLogGroups", anything),
        *(
            _same("logs", name, _log_group, resource_tags=True)
            for name in _names(
                "AssociateKmsKey DeleteLogGroup DeleteRetentionPolicy DisassociateKmsKey"
                " ListTagsLogGroup PutRetentionPolicy"
            )
        ),
        _same("logs", "ListTagsForResource", _logs_resource, resource_tags=True),
        _same(
            "logs", "TagResource", _logs_resource,
            resource_tags=True, request_tags=tag_map("tags"),
        ),
        _same(
            "logs", "UntagResource", _logs_resource,
            resource_tags=True, request_tags=tag_keys("tagKeys"),
        ),
    ],
)  # fmt: skip

_rows(
    "route53",
    [
        _same("route53", "CreateHostedZone", anything),
        _same("route53", "ListHostedZones", anything),
        _same("route53", "ListHostedZonesByName", anything),
        _same("route53", "GetHostedZone", _hosted_zone("Id")),
        _same("route53", "DeleteHostedZone", _hosted_zone("Id")),
        _same("route53", "ListResourceRecordSets", _hosted_zone("HostedZoneId")),
        _same(
            "route53", "ChangeResourceRecordSets", _hosted_zone("HostedZoneId"),
            keys=_record_changes,
        ),
        _same("route53", "GetChange", _change),
        _same("route53", "ListTagsForResource", _tagged_zone),
        _same("route53", "ChangeTagsForResource", _tagged_zone),
        _same("route53", "GetDNSSEC", _hosted_zone("HostedZoneId")),
    ],
)  # fmt: skip

# S3 operations are not named as their actions.
_S3_BUCKET_ACTIONS = {
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "GetBucketAcl": "s3:GetBucketAcl",
    "GetBucketCors": "s3:GetBucketCORS",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketLogging": "s3:GetBucketLogging",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "GetBucketRequestPayment": "s3:GetBucketRequestPayment",
    "GetBucketTagging": "s3:GetBucketTagging",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutBucketAcl": "s3:PutBucketAcl",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "PutBucketLogging": "s3:PutBucketLogging",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
}
for _operation, _action in _S3_BUCKET_ACTIONS.items():
    _list = _operation.startswith(("List", "Head"))
    TABLE.add("s3", _operation, Row(_action, _bucket, keys=_s3_list_keys if _list else _s3_keys))

_rows(
    "s3",
    [
        (
            "PutObject",
            Row(
                "s3:PutObject", _object, keys=_s3_write_keys,
                extra=(via("s3", "kms:GenerateDataKey", _put_object_key, _bucket),),
            ),
        ),
        *(
            (
                name,
                Row(
                    "s3:GetObject", _object, keys=_s3_keys,
                    extra=(via("s3", "kms:Decrypt", _stored_object_key, _bucket),),
                ),
            )
            for name in ("GetObject", "HeadObject")
        ),
        ("DeleteObject", Row("s3:DeleteObject", _object, keys=_s3_keys)),
        ("DeleteObjects", Row("s3:DeleteObject", _objects, keys=_s3_keys)),
        ("GetObjectTagging", Row("s3:GetObjectTagging", _object, keys=_s3_keys)),
        ("ListBuckets", Row("s3:ListAllMyBuckets", anything, keys=_s3_keys)),
    ],
)  # fmt: skip

_sns_tags = tag_list("Tags")
_topic = {"resource_tags": True}
_rows(
    "sns",
    [
        _same(
            "sns", "CreateTopic", _new_topic,
            resource_tags=True, request_tags=_sns_tags,
            extra=(tag_on_create("sns:TagResource", _sns_tags, _new_topic),),
        ),
        *(
            _same("sns", name, given_arn("TopicArn"), **_topic)
            for name in _names(
                "DeleteTopic GetTopicAttributes ListSubscriptionsByTopic"
                " SetTopicAttributes"
            )
        ),
        _same("sns", "Subscribe", given_arn("TopicArn"), **_topic, keys=_subscribe_keys),
        *(
            _same("sns", name, anything)
            for name in _names(
                "GetSubscriptionAttributes ListSubscriptions ListTopics"
                " SetSubscriptionAttributes Unsubscribe"
            )
        ),
        _same("sns", "ListTagsForResource", given_arn("ResourceArn"), **_topic),
        _same(
            "sns", "TagResource", given_arn("ResourceArn"),
            **_topic, request_tags=_sns_tags,
        ),
        _same(
            "sns", "UntagResource", given_arn("ResourceArn"),
            **_topic, request_tags=tag_keys("TagKeys"),
        ),
    ],
)  # fmt: skip


# The ECS agent's reads of a task's secrets (as its execution role, when a task starts).
def _parameters(call: Call, facts: Facts) -> list[str]:
    """GetParameters names each parameter by its name or its ARN: each is checked as its ARN."""
    return [
        name if name.startswith("arn:") else _regional("ssm", call, f"parameter/{name.lstrip('/')}")
        for name in _strings(call.params, "Names")
    ]


def _secret(call: Call, facts: Facts) -> list[str]:
    """A secret named by its ARN is that ARN; by its name, any of its ARNs (-?????? suffix)."""
    given = _str(call.params, "SecretId")
    return [
        given
        if given.startswith("arn:")
        else _regional("secretsmanager", call, f"secret:{given}-??????")
    ]


def _parameter(key: str) -> Callable[[Call, Facts], list[str]]:
    """One parameter (Name) or a path of them (Path): its ARN, parameter/<name without the />."""

    def arns(call: Call, facts: Facts) -> list[str]:
        name = _str(call.params, key)
        return [
            name
            if name.startswith("arn:")
            else _regional("ssm", call, f"parameter/{name.lstrip('/')}")
        ]

    return arns


# ...and finlex-release's verification records (release/src/finlex_release/record.py).
_rows(
    "ssm",
    [
        _same("ssm", "GetParameters", _parameters, resource_tags=True),
        _same("ssm", "GetParameter", _parameter("Name"), resource_tags=True),
        _same("ssm", "PutParameter", _parameter("Name"), resource_tags=True),
        _same("ssm", "GetParametersByPath", _parameter("Path"), resource_tags=True),
    ],
)
_rows(
    "secretsmanager",
    [_same("secretsmanager", "GetSecretValue", _secret, resource_tags=True)],
)

_rows(
    "sts",
    [
        (
            "GetCallerIdentity",
            Free(
                "sts:GetCallerIdentity",
                "no permission is required: AWS answers it even under an explicit Deny",
            ),
        ),
        _same("sts", "AssumeRole", given_arn("RoleArn"), resource_tags=True),
    ],
)  # fmt: skip


def operations() -> list[tuple[str, str]]:
    """Every (service, operation) the table knows, sorted."""
    return sorted(TABLE.rows)
