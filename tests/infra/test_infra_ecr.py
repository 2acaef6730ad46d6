"""modules/ecr: scan on push, immutable tags, encryption, lifecycle policy, outputs."""

from __future__ import annotations

import re

from support.terraform.hcl import ECR, default_of, expr, labelled, one_block, resources


def _repository():
    return resources(ECR)["aws_ecr_repository.this"]


def test_scan_on_push_seed() -> None:
    # The seed: "scanned for vulnerabilities by using AWS ECR in-built scanning feature".
    assert one_block(_repository(), "image_scanning_configuration")["scan_on_push"] is True


def test_tags_are_immutable() -> None:
    assert _repository()["image_tag_mutability"] == "IMMUTABLE"


def test_encryption_aes256_by_default_kms_optional() -> None:
    encryption = one_block(_repository(), "encryption_configuration")
    assert expr(encryption["encryption_type"]) == 'var.kms_key_arn == null ? "AES256" : "KMS"'
    assert expr(encryption["kms_key"]) == "var.kms_key_arn"
    assert default_of(ECR, "kms_key_arn") is None


def test_force_delete_is_a_variable_off_by_default() -> None:
    assert expr(_repository()["force_delete"]) == "var.force_delete"
    assert default_of(ECR, "force_delete") is False


def test_lifecycle_policy_expires_untagged_and_keeps_last_tagged() -> None:
    policy = resources(ECR)["aws_ecr_lifecycle_policy.this"]
    assert expr(policy["repository"]) == "aws_ecr_repository.this.name"
    text = expr(policy["policy"])
    assert text.startswith("jsonencode(")
    # Two rules: untagged by age (days), tagged by count; both expire.
    untagged = re.search(r'tagStatus\s*=\s*"untagged"(.*?)}', text, re.DOTALL)
    assert untagged, "no rule for untagged images"
    assert '"sinceImagePushed"' in untagged.group(1)
    assert '"days"' in untagged.group(1)
    assert "var.untagged_image_expiry_days" in untagged.group(1)
    tagged = re.search(r'tagStatus\s*=\s*"tagged"(.*?)}', text, re.DOTALL)
    assert tagged, "no rule for tagged images"
    assert '"imageCountMoreThan"' in tagged.group(1)
    assert "var.tagged_images_to_keep" in tagged.group(1)
    assert text.count('type = "expire"') == 2
    assert default_of(ECR, "untagged_image_expiry_days") >= 1
    assert default_of(ECR, "tagged_images_to_keep") >= 10


def test_outputs_url_arn_name() -> None:
    outputs = labelled(ECR, "output")
    assert expr(outputs["repository_url"]["value"]) == "aws_ecr_repository.this.repository_url"
    assert expr(outputs["repository_arn"]["value"]) == "aws_ecr_repository.this.arn"
    assert expr(outputs["repository_name"]["value"]) == "aws_ecr_repository.this.name"
