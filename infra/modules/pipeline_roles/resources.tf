# GitHub Actions -> AWS without stored keys: GitHub's OIDC provider and three
# roles that only this repository's workflows can assume, each for one job:
#   deploy          - deploy.yml, in the deploy environment: push, scan gate, deploy, verify
#   terraform-plan  - terraform.yml on pull requests, on the default branch and the
#                     daily drift check: read-only plan
#   terraform-apply - terraform.yml, in the apply environment (required reviewers): apply
# Trust is pinned on the token's `sub` claim (repository + environment, event or branch)
# and `aud` (sts.amazonaws.com), as GitHub and AWS recommend.
#
# The pipeline's own identity (the OIDC provider, these three roles, their
# policies and the permissions boundary) is out of the apply role's reach:
# an administrator applies changes to it. The apply role may create and change
# only roles that carry the boundary, so no role it makes can do more than the
# service's task and execution roles need.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  oidc_host = "token.actions.githubusercontent.com"
  # The provider's ARN follows from its URL: another stack's is named, not looked
  # up (a lookup by URL lists every provider, a read on "*").
  account_oidc_provider_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.oidc_host}"
  oidc_provider_arn         = var.oidc_provider_arn != null ? var.oidc_provider_arn : (var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : local.account_oidc_provider_arn)

  partition   = data.aws_partition.current.partition
  account     = data.aws_caller_identity.current.account_id
  region      = data.aws_region.current.id # the region's name in aws provider 5 and 6
  name_prefix = var.name_prefix

  # Where verification records live: /finlex/<environment>/verified, as
  # finlex-release's RECORD_PATH says (tests/pipeline ties the two).
  records_path_format  = "/finlex/%s/verified"
  records_arn          = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${format(local.records_path_format, var.records_environment)}"
  promoted_records_arn = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${format(local.records_path_format, coalesce(var.promotes_from, var.records_environment))}"

  # Every resource of the service carries this tag (the root's provider
  # default_tags: Project = name). The apply role changes only security groups
  # and rules that carry it, and creates only ones that do.
  scope_tag_key = "Project"

  # Resource ARNs the Terraform apply role may change: the ones the infra
  # modules name after the prefix.
  arn_ecr     = "arn:${local.partition}:ecr:${local.region}:${local.account}"
  arn_ecs     = "arn:${local.partition}:ecs:${local.region}:${local.account}"
  arn_elb     = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account}"
  arn_ec2     = "arn:${local.partition}:ec2:${local.region}:${local.account}"
  arn_logs    = "arn:${local.partition}:logs:${local.region}:${local.account}"
  arn_iam     = "arn:${local.partition}:iam::${local.account}"
  arn_acm     = "arn:${local.partition}:acm:${local.region}:${local.account}"
  arn_r53     = "arn:${local.partition}:route53:::"
  arn_s3      = "arn:${local.partition}:s3:::${var.state_bucket_name}"
  arn_cw      = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}"
  arn_cw_dash = "arn:${local.partition}:cloudwatch::${local.account}:dashboard"
  arn_sns     = "arn:${local.partition}:sns:${local.region}:${local.account}"
  arn_aas     = "arn:${local.partition}:application-autoscaling:${local.region}:${local.account}"
  arn_kms     = "arn:${local.partition}:kms:${local.region}:${local.account}"

  # The pipeline's own roles and policies: the apply role may never change them.
  pipeline_role_names = {
    deploy = "${local.name_prefix}-github-deploy"
    plan   = "${local.name_prefix}-github-terraform-plan"
    apply  = "${local.name_prefix}-github-terraform-apply"
  }
  pipeline_role_arns = [for name in values(local.pipeline_role_names) : "${local.arn_iam}:role/${name}"]
  boundary_name      = "${local.name_prefix}-service-role-boundary"
  boundary_arn       = "${local.arn_iam}:policy/${local.boundary_name}"

  # KMS keys (null = AWS-managed keys, which need no IAM permission). A key
  # is used in its own region, through the service named here.
  ecr_kms_keys   = var.ecr_kms_key_arn == null ? [] : [var.ecr_kms_key_arn]
  state_kms_keys = var.state_kms_key_arn == null ? [] : [var.state_kms_key_arn]

  # The `sub` claims each role trusts (AWS reads only `sub`, `aud` and `amr`).
  # - deploy, apply: their environment's. A job of another branch never gets
  #   that `sub`: the environment's deployment-branch policy allows the default
  #   branch only, so GitHub refuses to start such a job in it (make doctor
  #   FOR=deploy checks the policy through GitHub's API).
  # - plan: pull requests, and terraform.yml's plan on pushes and the daily
  #   drift job, which run on the default branch without an environment. The
  #   plan role only reads (no state lock), so any pull request may use it.
  trust_subjects = {
    deploy = ["repo:${var.github_repository}:environment:${var.deploy_environment}"]
    plan = var.plan_environment != null ? ["repo:${var.github_repository}:environment:${var.plan_environment}"] : [
      "repo:${var.github_repository}:pull_request",
      "repo:${var.github_repository}:ref:refs/heads/${var.default_branch}",
    ]
    apply = ["repo:${var.github_repository}:environment:${var.apply_environment}"]
  }

  # Revisions of the service's task definition family, in the service's account
  # and region (taken from the validated service ARN).

  task_definition_revisions = "${regex("^(arn:[^:]+:ecs:[^:]+:[0-9]{12}):", var.ecs_service_arn)[0]}:task-definition/${var.task_definition_family}:*"

  # The apply role's managed policies beyond terraform_read (its inline policy is
  # close to IAM's 10,240-character limit, so these parts stand on their own).
  terraform_apply_parts = {
    keys = {
      description = "${local.name_prefix}: the KMS key of the alarm topic (GitHub apply role)"
      json        = data.aws_iam_policy_document.terraform_apply_keys.json
    }
    name = {
      description = "${local.name_prefix}: the certificate and DNS records of the service's name (GitHub apply role)"
      json        = data.aws_iam_policy_document.terraform_apply_name.json
    }
    teardown = {
      description = "${local.name_prefix}: the two pipeline policies the service's teardown deletes (GitHub apply role)"
      json        = data.aws_iam_policy_document.terraform_apply_teardown.json
    }
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.oidc_provider_arn == null && var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # thumbprint_list is optional (aws provider >= 5.81): IAM trusts GitHub's
  # certificate through its own root CAs.
  tags = var.tags
}

# --- trust policies ----------------------------------------------------------

# One trust policy per role, each pinned to the jobs of one repository through
# the token's `sub` claim, matched exactly against the role's list (never
# StringLike).
data "aws_iam_policy_document" "trust" {
  for_each = local.trust_subjects

  statement {
    sid     = "GitHub${title(each.key)}JobsOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = each.value
    }
  }
}

# --- deploy role: exactly what finlex-release and deploy.yml call -------------

resource "aws_iam_role" "deploy" {
  name                 = local.pipeline_role_names["deploy"]
  description          = "${local.name_prefix}: GitHub deploy.yml (${var.github_repository}, environment ${var.deploy_environment})"
  assume_role_policy   = data.aws_iam_policy_document.trust["deploy"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

data "aws_iam_policy_document" "deploy" {
  # finlex-release verify-record writes this environment's verification record
  # of a digest (one SSM parameter each, release/src/finlex_release/record.py's
  # RECORD_PATH), `verified` lists them, and verify-record reads one back. Only
  # this environment's path: staging's role cannot write production's records.
  statement {
    sid       = "OwnVerificationRecords"
    effect    = "Allow"
    actions   = ["ssm:PutParameter", "ssm:GetParameter"]
    resources = ["${local.records_arn}/*"]
  }

  statement {
    sid       = "ListOwnVerificationRecords"
    effect    = "Allow"
    actions   = ["ssm:GetParametersByPath"]
    resources = [local.records_arn]
  }

  # `promote --from <environment>` reads (never writes) the record of the
  # environment it promotes from.
  dynamic "statement" {
    for_each = var.promotes_from == null ? [] : [local.promoted_records_arn]
    content {
      sid       = "ReadVerificationRecordsToPromote"
      effect    = "Allow"
      actions   = ["ssm:GetParameter", "ssm:GetParametersByPath"]
      resources = [statement.value, "${statement.value}/*"]
    }
  }

  # `docker login` to ECR. AWS defines no resource for this action: "*" is the
  # only accepted value. The token alone grants nothing; the repository
  # statements below decide what it can push or pull.
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # The CLI's describe and scan-gate calls, and the reads of `docker push`
  # (layer checks, manifest read), which deploy's checks of a digest share.
  statement {
    sid    = "EcrFinlexRepository"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:StartImageScan",
    ]
    resources = [var.ecr_repository_arn]
  }

  # `docker push`'s writes (AWS's documented push set: layer uploads and the
  # manifest). Only with push_images: an environment that deploys digests
  # another one pushed and verified (production behind staging) has none, and
  # the repository policy refuses it pushes as well.
  dynamic "statement" {
    for_each = var.push_images ? [var.ecr_repository_arn] : []
    content {
      sid    = "EcrPushToTheRepository"
      effect = "Allow"
      actions = [
        "ecr:CompleteLayerUpload",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ]
      resources = [statement.value]
    }
  }

  # Roll the service to a new task definition revision and follow it.
  statement {
    sid       = "EcsFinlexService"
    effect    = "Allow"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [var.ecs_service_arn]
  }

  # ECS supports no resource-level permissions for these three: AWS's service
  # authorization reference lists no resource type, so "*" is the only value
  # that works. They read or add task definition revisions; none starts tasks
  # (only UpdateService on the one service above can), and RegisterTaskDefinition
  # can name only the roles iam:PassRole allows below.
  statement {
    sid    = "EcsTaskDefinitionsNoResourceLevel"
    effect = "Allow"
    actions = [
      "ecs:DescribeTaskDefinition",
      "ecs:ListTaskDefinitions",
      "ecs:RegisterTaskDefinition",
    ]
    resources = ["*"]
  }

  # The task definition carries tags (provider default_tags); the CLI copies
  # them to the revision it registers and adds finlex:replaces (the revision
  # that ran before, which rollback reads). Tagging on create needs TagResource.
  # Only while registering a revision, only in the service's family.
  statement {
    sid       = "EcsTagNewRevisionsOfTheFinlexFamily"
    effect    = "Allow"
    actions   = ["ecs:TagResource"]
    resources = [local.task_definition_revisions]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RegisterTaskDefinition"]
    }
  }

  # verify: target health behind the load balancer. Describe* calls of
  # Elastic Load Balancing have no resource-level permissions either.
  statement {
    sid       = "ElbTargetHealthNoResourceLevel"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"]
  }

  # A new revision names the task and execution roles: ECS needs PassRole for
  # exactly these two, and only towards ECS tasks.
  statement {
    sid       = "PassFinlexTaskRolesToEcsTasksOnly"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [var.task_role_arn, var.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "${local.name_prefix}-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# --- Terraform: state access -------------------------------------------------
# The plan role reads the state and takes no lock (make tf-plan plans with
# -lock=false: a saved plan is refused at apply time if the state changed
# since, so a plan needs no lock). The apply role adds the lock file and the
# state writes.

data "aws_iam_policy_document" "state_read" {
  statement {
    sid       = "StateBucketList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.arn_s3]
  }

  statement {
    sid       = "StateRead"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.arn_s3}/${var.state_key}"]
  }

  # With the bootstrap's customer-managed key, S3 decrypts the state with the
  # caller's permissions: only through S3, in the key's region.
  dynamic "statement" {
    for_each = local.state_kms_keys
    content {
      sid       = "StateKmsKeyDecryptThroughS3"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${split(":", statement.value)[3]}.amazonaws.com"]
      }
    }
  }
}

# --- Terraform: what a plan reads (plan and apply) ------------------------------
# The Describe/List/Get calls the aws provider makes to refresh every resource
# and data source of infra/ (tests/pipeline records them from a real plan and
# pins the list), plus the two that apply waits on (DescribeNetworkInterfaces,
# GetChange). No data-plane read: no S3 object outside the state (above), no
# SSM parameter, no secret, no log event. Where AWS offers resource-level
# permissions, the finlex ARNs only.

data "aws_iam_policy_document" "terraform_read" {
  # checkov:skip=CKV_AWS_356:The statement on "*" holds only Describe calls that AWS defines without a resource type (EC2, ELB, Logs DescribeLogGroups, Application Auto Scaling, ECS DescribeTaskDefinition, SNS GetSubscriptionAttributes) plus ec2:DescribeVpcAttribute of a VPC chosen by the caller; every other read is scoped to finlex ARNs.
  statement {
    sid    = "DescribeNoResourceLevel"
    effect = "Allow"
    actions = [
      "application-autoscaling:DescribeScalableTargets",
      "application-autoscaling:DescribeScalingPolicies",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcAttribute",
      "ec2:DescribeVpcs",
      "ecs:DescribeTaskDefinition",
      "elasticloadbalancing:DescribeCapacityReservation",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "kms:ListAliases",
      "logs:DescribeLogGroups",
      "sns:GetSubscriptionAttributes",
    ]
    resources = ["*"]
  }

  # The alarm topic's key (modules/monitoring): metadata only, no Decrypt.
  # AWS's tables give these KMS actions no resource-tag condition key, so the
  # scope is the account's keys in this region.
  statement {
    sid       = "KmsFinlexKeyMetadata"
    effect    = "Allow"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    resources = ["${local.arn_kms}:key/*"]
  }

  # GetRepositoryPolicy: modules/ecr's repository policy (who may push and pull).
  statement {
    sid       = "EcrFinlexRepository"
    effect    = "Allow"
    actions   = ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"]
    resources = ["${local.arn_ecr}:repository/${local.name_prefix}*"]
  }

  # Another environment's stack owns the shared image repository: this one's
  # data source reads it (describe, tags, its images), and nothing writes it.
  dynamic "statement" {
    for_each = var.shared_ecr_repository_arn == null ? [] : [var.shared_ecr_repository_arn]
    content {
      sid       = "EcrSharedRepositoryRead"
      effect    = "Allow"
      actions   = ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListTagsForResource"]
      resources = [statement.value]
    }
  }

  statement {
    sid     = "EcsFinlexClusterAndService"
    effect  = "Allow"
    actions = ["ecs:DescribeClusters", "ecs:DescribeServices"]
    resources = [
      "${local.arn_ecs}:cluster/${local.name_prefix}*",
      "${local.arn_ecs}:service/${local.name_prefix}*/${local.name_prefix}*",
    ]
  }

  statement {
    sid       = "LogsFinlexLogGroup"
    effect    = "Allow"
    actions   = ["logs:ListTagsForResource"]
    resources = ["${local.arn_logs}:log-group:/ecs/${local.name_prefix}*"]
  }

  # Certificates get random IDs: this account and region's certificates.
  statement {
    sid       = "AcmCertificates"
    effect    = "Allow"
    actions   = ["acm:DescribeCertificate", "acm:ListTagsForCertificate"]
    resources = ["${local.arn_acm}:certificate/*"]
  }

  statement {
    sid       = "Route53ServiceZone"
    effect    = "Allow"
    actions   = ["route53:GetHostedZone", "route53:ListResourceRecordSets"]
    resources = ["${local.arn_r53}hostedzone/${var.route53_zone_id}"]
  }

  statement {
    sid       = "Route53ChangeStatus"
    effect    = "Allow"
    actions   = ["route53:GetChange"]
    resources = ["${local.arn_r53}change/*"]
  }

  statement {
    sid       = "AutoScalingTargetTags"
    effect    = "Allow"
    actions   = ["application-autoscaling:ListTagsForResource"]
    resources = ["${local.arn_aas}:scalable-target/*"]
  }

  statement {
    sid     = "IamFinlexRolesAndPolicies"
    effect  = "Allow"
    actions = ["iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]
    resources = [
      "${local.arn_iam}:role/${local.name_prefix}-*",
      "${local.arn_iam}:policy/${local.name_prefix}-*",
      "${local.arn_iam}:oidc-provider/${local.oidc_host}",
    ]
  }

  statement {
    sid     = "CloudWatchFinlexAlarmsAndDashboard"
    effect  = "Allow"
    actions = ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"]
    resources = [
      "${local.arn_cw}:alarm:${local.name_prefix}-*",
      "${local.arn_cw}:alarm:TargetTracking-service/${local.name_prefix}*/${local.name_prefix}*",
      "${local.arn_cw_dash}/${local.name_prefix}*",
    ]
  }

  statement {
    sid       = "SnsFinlexTopics"
    effect    = "Allow"
    actions   = ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"]
    resources = ["${local.arn_sns}:${local.name_prefix}-*"]
  }
}

# A managed policy, attached to both Terraform roles: the apply role's inline
# policies stay under IAM's 10,240-character limit per role.
resource "aws_iam_policy" "terraform_read" {
  name        = "${local.name_prefix}-terraform-read"
  description = "${local.name_prefix}: what terraform plan of infra/ reads (GitHub plan and apply roles)"
  policy      = data.aws_iam_policy_document.terraform_read.json
  tags        = var.tags
}

# --- Terraform plan role (pull requests) ----------------------------------------

resource "aws_iam_role" "terraform_plan" {
  name                 = local.pipeline_role_names["plan"]
  description          = "${local.name_prefix}: GitHub terraform.yml plan on pull requests of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "terraform_plan_read" {
  role       = aws_iam_role.terraform_plan.name
  policy_arn = aws_iam_policy.terraform_read.arn
}

resource "aws_iam_role_policy" "terraform_plan_state" {
  name   = "${local.name_prefix}-terraform-state-read"
  role   = aws_iam_role.terraform_plan.id
  policy = data.aws_iam_policy_document.state_read.json
}

# --- the boundary of every role the apply role creates or changes -------------
# What the service's own roles may ever do: the execution role pulls the image,
# writes the container's logs and reads the container's secrets under the
# project's prefix; the task role (the app) calls no AWS API.
# A role that the apply role makes can do no more than this, whatever policy
# it is given. Widening it is an administrator's change.

data "aws_iam_policy_document" "service_role_boundary" {
  # GetAuthorizationToken has no resource type in AWS: "*" is the only value.
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "EcrPullTheServiceImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "WriteTheServiceLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arn_logs}:log-group:/ecs/${local.name_prefix}*:log-stream:*"]
  }

  # The container's secrets (modules/ecs_cluster's secrets), named under the
  # project's prefix; the execution role's own policy names their exact ARNs.
  # ECS reads them with the execution role when a task starts.
  statement {
    sid     = "ReadTheServiceSecrets"
    effect  = "Allow"
    actions = ["ssm:GetParameters", "secretsmanager:GetSecretValue"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${local.name_prefix}/*",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${local.name_prefix}/*",
    ]
  }

  statement {
    sid       = "DecryptTheServiceSecretsThroughTheirService"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["${local.arn_kms}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "service_role_boundary" {
  name        = local.boundary_name
  description = "${local.name_prefix}: permissions boundary of every role the Terraform apply role creates or changes"
  policy      = data.aws_iam_policy_document.service_role_boundary.json
  tags        = var.tags
}

# --- Terraform apply role (the apply environment) -------------------------------

resource "aws_iam_role" "terraform_apply" {
  name                 = local.pipeline_role_names["apply"]
  description          = "${local.name_prefix}: GitHub terraform.yml apply of ${var.github_repository}, environment ${var.apply_environment}"
  assume_role_policy   = data.aws_iam_policy_document.trust["apply"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "terraform_apply_read" {
  role       = aws_iam_role.terraform_apply.name
  policy_arn = aws_iam_policy.terraform_read.arn
}

data "aws_iam_policy_document" "terraform_apply" {
  # checkov:skip=CKV_AWS_111:The only write actions on "*" are the ones AWS offers no resource type for (ecs:RegisterTaskDefinition, acm:RequestCertificate, sns:Unsubscribe/SetSubscriptionAttributes) or no usable name (Application Auto Scaling's generated target ARNs); every other write is scoped to finlex-named ARNs, the Project tag and the service's VPC, or its hosted zone.
  # checkov:skip=CKV_AWS_356:Same statements as CKV_AWS_111: task definition registration, certificate requests, subscriptions and scalable targets cannot be named before they exist, so "*" is the only resource that lets Terraform create them.
  source_policy_documents = [data.aws_iam_policy_document.state_read.json]

  statement {
    sid       = "StateWrite"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.arn_s3}/${var.state_key}"]
  }

  # S3-native locking (use_lockfile = true): the lock is an object next to the state.
  statement {
    sid       = "StateLockFile"
    effect    = "Allow"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${local.arn_s3}/${var.state_key}.tflock"]
  }

  # S3 encrypts the state and the lock file with the bootstrap's key, if set.
  dynamic "statement" {
    for_each = local.state_kms_keys
    content {
      sid       = "StateKmsKeyEncryptThroughS3"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${split(":", statement.value)[3]}.amazonaws.com"]
      }
    }
  }

  statement {
    sid    = "EcrFinlexRepositories"
    effect = "Allow"
    actions = [
      "ecr:CreateRepository",
      "ecr:DeleteLifecyclePolicy",
      "ecr:DeleteRepository",
      "ecr:DeleteRepositoryPolicy",
      "ecr:PutImageScanningConfiguration",
      "ecr:PutImageTagMutability",
      "ecr:PutLifecyclePolicy",
      "ecr:SetRepositoryPolicy",
      "ecr:TagResource",
      "ecr:UntagResource",
    ]
    resources = ["${local.arn_ecr}:repository/${local.name_prefix}*"]
  }

  # A repository encrypted with a customer-managed key: ECR checks the key and
  # creates its grants with the caller's permissions, and retires them when the
  # repository is deleted. Pushes and pulls then use ECR's grant, so neither
  # the deploy role nor the execution role needs the key.
  dynamic "statement" {
    for_each = local.ecr_kms_keys
    content {
      sid       = "EcrKmsKeyGrantsThroughEcr"
      effect    = "Allow"
      actions   = ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ecr.${split(":", statement.value)[3]}.amazonaws.com"]
      }
    }
  }

  statement {
    sid    = "EcsFinlexClusterAndService"
    effect = "Allow"
    actions = [
      "ecs:CreateCluster",
      "ecs:CreateService",
      "ecs:DeleteCluster",
      "ecs:DeleteService",
      "ecs:PutClusterCapacityProviders",
      "ecs:TagResource",
      "ecs:UntagResource",
      "ecs:UpdateCluster",
      "ecs:UpdateClusterSettings",
      "ecs:UpdateService",
    ]
    resources = [
      "${local.arn_ecs}:cluster/${local.name_prefix}*",
      "${local.arn_ecs}:service/${local.name_prefix}*/${local.name_prefix}*",
      "${local.arn_ecs}:task-definition/${local.name_prefix}*:*",
    ]
  }

  # hashicorp/aws 6.11 and later wait for the service's steady state through
  # the service-deployments API: list the service's deployments, then
  # describe them. 5.100 does not call them; the lock pins 5.100, and the
  # grant keeps an upgrade from failing every apply that touches the service.
  statement {
    sid     = "EcsFinlexServiceDeployments"
    effect  = "Allow"
    actions = ["ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments"]
    resources = [
      "${local.arn_ecs}:service/${local.name_prefix}*/${local.name_prefix}*",
      "${local.arn_ecs}:service-deployment/${local.name_prefix}*/${local.name_prefix}*/*",
    ]
  }

  # No resource-level permission exists for it (see the deploy role). No
  # DeregisterTaskDefinition: the task definitions are skip_destroy (earlier
  # revisions stay for rollback), so Terraform never deregisters one.
  statement {
    sid       = "EcsTaskDefinitionsNoResourceLevel"
    effect    = "Allow"
    actions   = ["ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid    = "ElbFinlexLoadBalancer"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:CreateTargetGroup",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteRule",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:RemoveTags",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
    ]
    # Target groups use name_prefix, which allows 6 characters at most.
    resources = [
      "${local.arn_elb}:loadbalancer/app/${local.name_prefix}*/*",
      "${local.arn_elb}:listener/app/${local.name_prefix}*/*",
      "${local.arn_elb}:listener-rule/app/${local.name_prefix}*/*",
      "${local.arn_elb}:targetgroup/${substr(local.name_prefix, 0, 5)}*/*",
    ]
  }

  # --- security groups: the condition keys AWS defines for each action and
  # resource type (service authorization reference): a new group is created
  # in the service's VPC and must carry the Project tag; tags go on only while
  # creating; existing groups are changed only when they carry the tag and sit
  # in the service's VPC (ec2:Vpc exists for security-group, not for rules);
  # rules are created with the tag and changed only when they carry it.

  statement {
    sid       = "Ec2CreateSecurityGroupInTheServiceVpc"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.arn_ec2}:vpc/${var.vpc_id}"]
  }

  statement {
    sid       = "Ec2NewSecurityGroupsCarryTheProjectTag"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.arn_ec2}:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid       = "Ec2TagSecurityGroupsAndRulesOnCreate"
    effect    = "Allow"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.arn_ec2}:security-group/*", "${local.arn_ec2}:security-group-rule/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress", "CreateSecurityGroup"]
    }
  }

  statement {
    sid    = "Ec2ChangeTaggedSecurityGroupsInTheServiceVpc"
    effect = "Allow"
    actions = [
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:DeleteSecurityGroup",
      "ec2:ModifySecurityGroupRules",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = ["${local.arn_ec2}:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }

    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["${local.arn_ec2}:vpc/${var.vpc_id}"]
    }
  }

  statement {
    sid       = "Ec2NewRulesCarryTheProjectTag"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress"]
    resources = ["${local.arn_ec2}:security-group-rule/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid       = "Ec2ChangeTaggedRules"
    effect    = "Allow"
    actions   = ["ec2:ModifySecurityGroupRules"]
    resources = ["${local.arn_ec2}:security-group-rule/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid       = "Ec2RetagTaggedSecurityGroupsAndRules"
    effect    = "Allow"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["${local.arn_ec2}:security-group/*", "${local.arn_ec2}:security-group-rule/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid    = "LogsFinlexLogGroup"
    effect = "Allow"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:DeleteRetentionPolicy",
      "logs:DisassociateKmsKey",
      "logs:PutRetentionPolicy",
      "logs:TagResource",
      "logs:UntagResource",
    ]
    resources = ["${local.arn_logs}:log-group:/ecs/${local.name_prefix}*"]
  }

  # Scalable targets and policies have generated ARNs and the service supports
  # no name-based scoping; the ECS resource ID is the only handle.
  statement {
    sid    = "AutoScalingNoNameScoping"
    effect = "Allow"
    actions = [
      "application-autoscaling:DeleteScalingPolicy",
      "application-autoscaling:DeregisterScalableTarget",
      "application-autoscaling:PutScalingPolicy",
      "application-autoscaling:RegisterScalableTarget",
      "application-autoscaling:TagResource",
      "application-autoscaling:UntagResource",
    ]
    resources = ["*"]
  }

  # Target tracking policies make the caller create and delete their CloudWatch
  # alarms (TargetTracking-service/<cluster>/<service>-...); the service's own
  # alarms are named <name>-...
  statement {
    sid    = "CloudWatchFinlexAlarms"
    effect = "Allow"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource",
      "cloudwatch:UntagResource",
    ]
    resources = [
      "${local.arn_cw}:alarm:${local.name_prefix}-*",
      "${local.arn_cw}:alarm:TargetTracking-service/${local.name_prefix}*/${local.name_prefix}*",
    ]
  }

  statement {
    sid       = "CloudWatchFinlexDashboard"
    effect    = "Allow"
    actions   = ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"]
    resources = ["${local.arn_cw_dash}/${local.name_prefix}*"]
  }

  # The alarm topic <name>-alarms and its subscriptions.
  statement {
    sid    = "SnsFinlexTopics"
    effect = "Allow"
    actions = [
      "sns:CreateTopic",
      "sns:DeleteTopic",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:TagResource",
      "sns:UntagResource",
    ]
    resources = ["${local.arn_sns}:${local.name_prefix}-*"]
  }

  # AWS defines no resource type for these two: "*" is the only value.
  statement {
    sid       = "SnsSubscriptionsNoResourceLevel"
    effect    = "Allow"
    actions   = ["sns:SetSubscriptionAttributes", "sns:Unsubscribe"]
    resources = ["*"]
  }

  # --- IAM: the service's roles only, and only with the boundary -------------
  # iam:PermissionsBoundary must name the boundary on every call that creates
  # or changes a role (AWS defines the key for each of these actions). Tagging
  # has no such key and grants nothing.

  statement {
    sid    = "IamServiceRolesWithTheBoundaryOnly"
    effect = "Allow"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["${local.arn_iam}:role/${local.name_prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  # Deleting a role: the provider first lists (and removes) its instance
  # profiles. A read with no boundary key in AWS's tables.
  statement {
    sid       = "IamListInstanceProfilesOfServiceRoles"
    effect    = "Allow"
    actions   = ["iam:ListInstanceProfilesForRole"]
    resources = ["${local.arn_iam}:role/${local.name_prefix}-*"]
  }

  statement {
    sid       = "IamTagServiceRoles"
    effect    = "Allow"
    actions   = ["iam:TagRole", "iam:UntagRole"]
    resources = ["${local.arn_iam}:role/${local.name_prefix}-*"]
  }

  statement {
    sid       = "PassFinlexRolesToEcsTasksOnly"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["${local.arn_iam}:role/${local.name_prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # First use of ECS, ELB or Application Auto Scaling in an account.
  statement {
    sid       = "ServiceLinkedRolesOfTheServicesUsed"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.arn_iam}:role/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values = [
        "ecs.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
      ]
    }
  }

  # The pipeline's roles (this one included) and the module's policies are
  # never the apply role's to change, pass or delete, whatever else allows it.
  statement {
    sid    = "DenyThePipelineRoles"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePermissionsBoundary",
      "iam:DetachRolePolicy",
      "iam:PassRole",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = local.pipeline_role_arns
  }

  statement {
    sid    = "DenyTheBoundaryAndPipelinePolicies"
    effect = "Deny"
    actions = [
      "iam:CreatePolicy",
      "iam:CreatePolicyVersion",
      "iam:SetDefaultPolicyVersion",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ]
    resources = ["${local.arn_iam}:policy/${local.name_prefix}-*"]
  }
}

# The alarm topic's KMS key (modules/monitoring, when no key is given): create
# it only with the service's tag, manage only keys that carry that tag
# (aws:ResourceTag applies to the key resource type), and aliases only named
# after the prefix. A managed policy of its own: the apply role's inline
# policy is close to IAM's 10,240-character limit.
data "aws_iam_policy_document" "terraform_apply_keys" {
  statement {
    sid       = "KmsCreateTaggedKey"
    effect    = "Allow"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid    = "KmsManageFinlexKeys"
    effect = "Allow"
    actions = [
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:EnableKeyRotation",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:UntagResource",
      "kms:UpdateKeyDescription",
    ]
    resources = ["${local.arn_kms}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid       = "KmsFinlexAliases"
    effect    = "Allow"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias"]
    resources = ["${local.arn_kms}:alias/${local.name_prefix}-*"]
  }
}

resource "aws_iam_role_policy" "terraform_apply" {
  name   = "${local.name_prefix}-terraform-apply"
  role   = aws_iam_role.terraform_apply.id
  policy = data.aws_iam_policy_document.terraform_apply.json
}

# The service's name: its certificate and its records. A managed policy of its
# own, for the same 10,240-character limit of the apply role's inline policy.
data "aws_iam_policy_document" "terraform_apply_name" {
  # Target groups are named by the first five characters of the name (their
  # name_prefix allows six), which another environment's stack shares
  # (finlex, finlex-staging): ElbFinlexLoadBalancer's ARN pattern matches
  # both. The Project tag tells them apart: every write ElbFinlexLoadBalancer
  # grants on a target group is refused on one tagged for another stack. An
  # untagged one (a create, before its tags) is not refused here.
  statement {
    sid    = "DenyTargetGroupsOfOtherStacks"
    effect = "Deny"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = ["${local.arn_elb}:targetgroup/*"]

    condition {
      test     = "StringNotEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = ["false"]
    }
  }

  # Certificates get random IDs: only those carrying the service's tag.
  statement {
    sid    = "AcmTaggedCertificates"
    effect = "Allow"
    actions = [
      "acm:AddTagsToCertificate",
      "acm:DeleteCertificate",
      "acm:RemoveTagsFromCertificate",
    ]
    resources = ["${local.arn_acm}:certificate/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  # RequestCertificate has no resource-level permissions: a certificate for
  # the service's name only, requested with the service's tag (which needs
  # AddTagsToCertificate on the request too).
  statement {
    sid       = "AcmRequestTheServiceCertificate"
    effect    = "Allow"
    actions   = ["acm:AddTagsToCertificate", "acm:RequestCertificate"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.scope_tag_key}"
      values   = [local.name_prefix]
    }
  }

  statement {
    sid       = "AcmRequestOnlyTheServiceName"
    effect    = "Deny"
    actions   = ["acm:RequestCertificate"]
    resources = ["*"]

    condition {
      test     = "ForAnyValue:StringNotEquals"
      variable = "acm:DomainNames"
      values   = [var.domain_name]
    }
  }

  # Records of the service's name only: its alias (A, AAAA) and the
  # certificate's DNS-validation CNAME (_<token>.<name>).
  statement {
    sid       = "Route53ServiceRecordsOnly"
    effect    = "Allow"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["${local.arn_r53}hostedzone/${var.route53_zone_id}"]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
      values   = [var.domain_name, "_*.${var.domain_name}"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "route53:ChangeResourceRecordSetsRecordTypes"
      values   = ["A", "AAAA", "CNAME"]
    }
  }
}

# Teardown of the service under the apply role. The service's own parts name
# two of the pipeline's policies: the deploy role's policy (the service's
# ARNs) and the boundary of the service's roles (its repository and logs).
# Destroying the service deletes them; the apply role may delete those two
# (never write them, and no other pipeline policy). Deleting removes rights,
# and IAM refuses to delete a boundary that a role still carries. A managed
# policy of its own, for the inline policy's 10,240-character limit.
data "aws_iam_policy_document" "terraform_apply_teardown" {
  statement {
    sid       = "DeleteTheDeployPolicy"
    effect    = "Allow"
    actions   = ["iam:DeleteRolePolicy"]
    resources = ["${local.arn_iam}:role/${local.pipeline_role_names["deploy"]}"]
  }

  statement {
    sid       = "DenyPolicyDeletionOnTheTerraformRoles"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePolicy"]
    resources = [for job in ["plan", "apply"] : "${local.arn_iam}:role/${local.pipeline_role_names[job]}"]
  }

  statement {
    sid       = "DeleteTheServiceRoleBoundary"
    effect    = "Allow"
    actions   = ["iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:ListPolicyVersions"]
    resources = [local.boundary_arn]
  }

  statement {
    sid       = "DenyDeletingTheTerraformRolesPolicies"
    effect    = "Deny"
    actions   = ["iam:DeletePolicy", "iam:DeletePolicyVersion"]
    resources = ["${local.arn_iam}:policy/${local.name_prefix}-terraform-*"]
  }
}

resource "aws_iam_policy" "terraform_apply_part" {
  for_each = local.terraform_apply_parts

  name        = "${local.name_prefix}-terraform-apply-${each.key}"
  description = each.value.description
  policy      = each.value.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "terraform_apply_part" {
  for_each = aws_iam_policy.terraform_apply_part

  role       = aws_iam_role.terraform_apply.name
  policy_arn = each.value.arn
}

moved {
  from = aws_iam_policy.terraform_apply_keys
  to   = aws_iam_policy.terraform_apply_part["keys"]
}

moved {
  from = aws_iam_role_policy_attachment.terraform_apply_keys
  to   = aws_iam_role_policy_attachment.terraform_apply_part["keys"]
}

moved {
  from = aws_iam_policy.terraform_apply_name
  to   = aws_iam_policy.terraform_apply_part["name"]
}

moved {
  from = aws_iam_role_policy_attachment.terraform_apply_name
  to   = aws_iam_role_policy_attachment.terraform_apply_part["name"]
}
