# The image repository of the service: immutable tags, scan on push, and a
# lifecycle policy that keeps storage bounded.

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  # ECR's basic scanning: every pushed image is scanned for OS-package CVEs.
  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Lifecycle rules apply in priority order, and an image that matches the tag
# selection of a rule can never be expired by a rule of lower priority. So each
# protected tag (the image_tag a Terraform task definition names) gets its own
# first rule that never fires: that image outlives any number of deploys.
locals {
  protect_rules = [
    for index, tag in var.protected_image_tags : {
      rulePriority = index + 1
      description  = "Keep ${tag}: a task definition names it"
      selection = {
        tagStatus      = "tagged"
        tagPatternList = [tag]
        countType      = "imageCountMoreThan"
        countNumber    = 1 # tags are immutable: one image per tag, never more
      }
      action = { type = "expire" }
    }
  ]
  first_free_priority = length(var.protected_image_tags) + 1
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = concat(local.protect_rules, [
      {
        rulePriority = local.first_free_priority
        description  = "Expire untagged images ${var.untagged_image_expiry_days} days after push"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = local.first_free_priority + 1
        description  = "Keep the last ${var.tagged_images_to_keep} tagged images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.tagged_images_to_keep
        }
        action = { type = "expire" }
      },
    ])
  })
}

# --- who may push and pull ----------------------------------------------------
# Identity policies decide what a principal of this account may do; this
# repository policy takes rights away, whatever any identity policy grants:
# pushes from anyone but push_principal_arns (the pipeline's deploy role),
# layer downloads (the pull itself) from anyone but pull_principal_arns (the
# task execution role), and manifest reads from anyone but those two sets
# (the deploy role reads manifests to compare a tag with its own build).
# Repository management (describe, scan findings, this policy itself) stays
# with identity policies, so an administrator can never be locked out.
locals {
  push_actions = [
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
  ]
  # Amazon Inspector reads the image's layers with its service-linked role, in the
  # account of the roles above (partition and account from the first one's ARN).
  role_arn_parts     = split(":", try(concat(var.pull_principal_arns, var.push_principal_arns)[0], "arn:aws:iam::000000000000:role/none"))
  inspector_role_arn = "arn:${local.role_arn_parts[1]}:iam::${local.role_arn_parts[4]}:role/aws-service-role/inspector2.amazonaws.com/AWSServiceRoleForAmazonInspector2"
  pullers            = concat(var.pull_principal_arns, var.scan_type == "ENHANCED" ? [local.inspector_role_arn] : [])
  manifest_readers   = distinct(concat(local.pullers, var.push_principal_arns, var.read_principal_arns))
  deny_statements = {
    DenyPushExceptThePipeline       = { actions = local.push_actions, allowed = var.push_principal_arns }
    DenyPullExceptTheTasks          = { actions = ["ecr:GetDownloadUrlForLayer"], allowed = local.pullers }
    DenyManifestReadsExceptTheseTwo = { actions = ["ecr:BatchGetImage"], allowed = local.manifest_readers }
  }
  # Any principal named: the repository gets the policy below.
  has_principals = length(var.push_principal_arns) + length(var.pull_principal_arns) + length(var.read_principal_arns) > 0
}

resource "aws_ecr_repository_policy" "this" {
  count      = local.has_principals ? 1 : 0
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for sid, rule in local.deny_statements : merge(
        {
          Sid       = sid
          Effect    = "Deny"
          Principal = "*"
          Action    = rule.actions
        },
        # No one allowed: the deny has no exception (and no Condition).
        # ArnNotLike where a name ends in a wildcard (another environment's
        # execution role, whose name has a generated suffix).
        { for key, value in { Condition = { (anytrue([for arn in rule.allowed : strcontains(arn, "*")]) ? "ArnNotLike" : "ArnNotEquals") = { "aws:PrincipalArn" = rule.allowed } } } : key => value if length(rule.allowed) > 0 },
      )
    ]
  })
}

# --- enhanced scanning (optional) ---------------------------------------------
# The registry's scanning configuration is one per account and region: this
# resource replaces whatever rules it had with one rule for this repository.
# Inspector then scans its images continuously (OS and language packages), and
# `finlex-release scan-gate` reads the findings (enhancedFindings) with the
# same allowlist as the dependency scan.
resource "aws_ecr_registry_scanning_configuration" "this" {
  count     = var.scan_type == "ENHANCED" ? 1 : 0
  scan_type = "ENHANCED"

  rule {
    scan_frequency = "CONTINUOUS_SCAN"
    repository_filter {
      filter      = aws_ecr_repository.this.name
      filter_type = "WILDCARD"
    }
  }
}
