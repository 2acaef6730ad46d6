"""The emulated AWS account: moto's server, in this process, on a free loopback port.

moto runs in-process (``ThreadedMotoServer``) so that the rehearsal can adapt
it where it differs from AWS, without touching the product:

- Route53 hosted-zone IDs start with ``Z`` as AWS's do (moto's do not), so
  the infra's real validation of ``hosted_zone_id`` stays as it is.
- ECS never runs tasks in moto. Services start with their tasks running
  (``MOTO_ECS_SERVICE_RUNNING``), and an ``UpdateService`` that changes the
  task definition starts a new deployment that completes, as ECS's rolling
  deployment would once the new tasks are healthy.
- Application Auto Scaling keeps tags of scalable targets, which moto does
  not (the provider reads them back after every change).
- An ECR image digest is the SHA-256 of its manifest, as in a registry, and
  a repository with scan on push scans what is pushed.
- ACM reports the key algorithm a certificate was requested with, and a
  security-group rule that references another group keeps its description.
- CreateService keeps the settings moto keeps only on UpdateService (health
  check grace period, managed tags, AZ rebalancing, deployment configuration).
- Every request passes the IAM gate (``rehearse.gate``): it is recorded with
  its principal, action, resource ARN and condition context, and evaluated
  against the caller's policies with AWS's logic (``iamsim``). While the gate
  enforces (``Emulator.gate.enforced()``), a denied call is answered as
  AWS answers it, in the protocol's own error format;
  moto's own action-only enforcement stays off. Bucket, key and trust
  policies are evaluated there too, and a request counts as HTTPS with TLS
  1.3 (the emulator speaks plain HTTP on loopback; the state bucket's policy
  denies anything else). The administrator's key is never denied.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import logging
import os
import random
import string
from dataclasses import dataclass
from typing import Any

from rehearse.gate import Gate

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_KEY = "test"  # any key works while enforcement is off

# Read by moto at import time: set before the first import.
_MOTO_ENV = {
    "MOTO_ACM_VALIDATION_WAIT": "0",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "MOTO_ECS_SERVICE_RUNNING": "2",
    "AWS_DEFAULT_REGION": REGION,
}

# What moto does not do, as found by running the rehearsal. Printed in its
# summary and kept in docs/rehearsal.md.
GAPS = (
    "ECS runs no tasks: services start 'running', deployments complete at once "
    "(the rehearsal's stand-in for healthy tasks)",
    "ECR takes PutImage with a manifest but has no registry: `docker push` cannot run",
    "ECR scans report one made-up HIGH finding for every image",
    "IAM: every call is evaluated with its ARN and conditions (tools/iamsim), "
    "but not SCPs, RCPs, session policies or the caller's own permissions boundary",
    "CloudWatch never evaluates alarms: no alarm-triggered rollback",
)


@dataclass
class Emulator:
    """A running moto server and handles on its backends."""

    url: str
    _server: Any
    gate: Gate  # records every call; enforces while asked to

    def stop(self) -> None:
        self._server.stop()


def _moto(name: str) -> Any:
    """A moto module, typed as Any: the patches below replace its attributes."""
    return importlib.import_module(f"moto.{name}")


def _zone_id(*_args: Any, **_kwargs: Any) -> str:
    # AWS hosted-zone IDs: "Z" and up to 31 more upper-case letters or digits.
    return "Z" + "".join(
        random.choices(  # noqa: S311 - an ID, not a secret
            string.ascii_uppercase + string.digits, k=20
        )
    )


def _patch_route53() -> None:
    models = _moto("route53.models")

    models.create_route53_zone_id = _zone_id


# What a request to the emulated S3 counts as: HTTPS with TLS 1.3 (the
# emulator speaks plain HTTP on loopback). The gate sets the same keys.
_S3_REQUEST = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}


def _patch_bucket_policies() -> None:
    """moto's own bucket-policy check, on every object call, evaluated as IAM does.

    moto applies a bucket policy's Deny to object calls whatever the caller,
    with its own reading of conditions (StringEquals only, an absent key
    matching), so it applied every Deny of the state bucket's policy. Here the
    policy is read with iamsim: only a Deny whose condition holds refuses.
    """
    from iamsim.evaluate import Decision, Request, evaluate

    access, models = _moto("iam.access_control"), _moto("s3.models")
    permission = access.PermissionResult
    caller = f"arn:aws:iam::{ACCOUNT_ID}:root"

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return permission.NEUTRAL
        request = Request(caller, action, resource, _S3_REQUEST)
        decided = evaluate(request, {}, json.loads(self.policy.decode()))
        return (
            permission.DENIED if decided.decision is Decision.EXPLICIT_DENY else permission.NEUTRAL
        )

    models.FakeBucket.get_permission = get_permission


def _patch_ecs() -> None:
    """A task-definition change starts a deployment that completes, as on ECS."""
    utcnow = _moto("core.utils").utcnow
    models = _moto("ecs.models")
    mock_random = _moto("moto_api._internal").mock_random

    original = models.EC2ContainerServiceBackend.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = str(service_properties.get("service", "")).split("/")[-1]
        before = self._get_service(cluster, name).task_definition
        service = original(self, service_properties)
        if service.task_definition != before and service.deployments:
            deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
            now = utcnow()
            deployment = dict(service.deployments[0])
            deployment.update(
                id=deployment_id,
                createdAt=now,
                updatedAt=now,
                taskDefinition=service.task_definition,
                desiredCount=service.desired_count,
                runningCount=service.desired_count,
                pendingCount=0,
                failedTasks=0,
                status="PRIMARY",
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment_id} completed.",
            )
            service.deployments = [deployment]
            service.running_count = service.desired_count
            service.pending_count = 0
        return service

    models.EC2ContainerServiceBackend.update_service = update_service

    # CreateService drops settings that UpdateService keeps: keep them on create too.
    camelcase_to_underscores = _moto("core.utils").camelcase_to_underscores
    responses = _moto("ecs.responses")

    create = responses.EC2ContainerServiceResponse.create_service
    kept = (
        "availabilityZoneRebalancing",
        "deploymentConfiguration",
        "enableECSManagedTags",
        "enableExecuteCommand",
        "healthCheckGracePeriodSeconds",
    )

    def create_service(self: Any) -> Any:
        result = create(self)
        service = result.result["service"]
        for name in kept:
            value = self._get_param(name)
            if value is not None:
                setattr(service, camelcase_to_underscores(name), value)
        return result

    responses.EC2ContainerServiceResponse.create_service = create_service


def _patch_autoscaling() -> None:
    """Tags of scalable targets: moto lacks ListTagsForResource, TagResource, UntagResource."""
    responses = _moto("applicationautoscaling.responses")

    tags: dict[str, dict[str, str]] = {}
    handler = responses.ApplicationAutoScalingResponse
    register = handler.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        answer: str = register(self)
        arn = json.loads(answer)["ScalableTargetARN"]
        tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
        return answer

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def tag_resource(self: Any) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        held = tags.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            held.pop(key, None)
        return "{}"

    handler.register_scalable_target = register_scalable_target
    handler.list_tags_for_resource = list_tags_for_resource
    handler.tag_resource = tag_resource
    handler.untag_resource = untag_resource


def _patch_ecr() -> None:
    """An image digest is the SHA-256 of its manifest, as in a registry (moto hashes layers)."""
    models = _moto("ecr.models")

    def create_digest(self: Any) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode()).hexdigest()

    models.Image._create_digest = create_digest

    put_image = models.ECRBackend.put_image

    def put_image_and_scan(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        image = put_image(self, repository_name, *args, **kwargs)
        repository = self._get_repository(repository_name, kwargs.get("registry_id"))
        if repository.image_scanning_configuration.get("scanOnPush"):
            image.last_scan = datetime.datetime.today()
        return image

    models.ECRBackend.put_image = put_image_and_scan


def _patch_acm() -> None:
    """A requested certificate reports the KeyAlgorithm it was requested with (moto: RSA_2048)."""
    models, responses = _moto("acm.models"), _moto("acm.responses")

    request = responses.AWSCertificateManagerResponse.request_certificate
    describe = models.CertBundle.describe

    def request_certificate(self: Any) -> Any:
        result = request(self)
        algorithm = self._get_param("KeyAlgorithm")
        if algorithm:
            arn = result.result["CertificateArn"]
            self.acm_backend.get_certificate(arn).requested_key_algorithm = algorithm
        return result

    def described(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = describe(self)
        algorithm = getattr(self, "requested_key_algorithm", None)
        if algorithm:
            answer["Certificate"]["KeyAlgorithm"] = algorithm
        return answer

    responses.AWSCertificateManagerResponse.request_certificate = request_certificate
    models.CertBundle.describe = described


def _patch_ec2() -> None:
    """A rule that references a security group keeps its description (moto drops it)."""
    security_groups = _moto("ec2.models.security_groups")

    def description(self: Any) -> str | None:
        found = self.ip_range.get("Description") or self.source_group.get("Description")
        return str(found) if found else None

    security_groups.SecurityGroupRule.description = property(description)


def start() -> Emulator:
    """Start moto on 127.0.0.1 and a free port, adapted as the module docstring says."""
    os.environ.update(_MOTO_ENV)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    _patch_route53()
    _patch_bucket_policies()
    _patch_ecs()
    _patch_autoscaling()
    _patch_ecr()
    _patch_acm()
    _patch_ec2()
    gate = Gate(account=ACCOUNT_ID, admin_key=ADMIN_KEY)
    server = _gated_server(gate)
    server.start()
    host, port = server.get_host_and_port()
    return Emulator(url=f"http://{host}:{port}", _server=server, gate=gate)


def _gated_server(gate: Gate) -> Any:
    """moto's ThreadedMotoServer with the gate in front of its WSGI application."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class GatedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # ThreadedMotoServer's, with the app wrapped
            app = gate.wrap(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return GatedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
