# GitHub Actions -> AWS without stored keys: GitHub's OIDC provider and three
# roles that only this repository's workflows can assume, each for one job:
#   deploy          - deploy.yml, in the deploy environment: push, scan gate, deploy, verify
#   terraform-plan  - terraform.yml on pull requests: read-only plan
#   terraform-apply - terraform.yml on the main branch: apply
# Trust is pinned on the token's `sub` claim (repository + environment / event /
# branch) and `aud` (sts.amazonaws.com), as GitHub and AWS recommend.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  oidc_host         = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.oidc_provider_arn != null ? var.oidc_provider_arn : aws_iam_openid_connect_provider.github[0].arn

  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.id
  p         = var.name_prefix

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
  arn_aws_iam = "arn:${local.partition}:iam::aws:policy"

  # Revisions of the service's task definition family, in the service's account
  # and region (taken from the validated service ARN).
  # The `sub` claim each role trusts: the deploy environment, pull requests, the main branch.
  trust_subjects = {
    deploy = "repo:${var.github_repository}:environment:${var.deploy_environment}"
    plan   = "repo:${var.github_repository}:pull_request"
    apply  = "repo:${var.github_repository}:ref:refs/heads/${var.main_branch}"
  }

  task_definition_revisions = "${regex("^(arn:[^:]+:ecs:[^:]+:[0-9]{12}):", var.ecs_service_arn)[0]}:task-definition/${var.task_definition_family}:*"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # thumbprint_list is optional (aws provider >= 5.81): IAM trusts GitHub's
  # certificate through its own root CAs.
  tags = var.tags
}

# --- trust policies ----------------------------------------------------------

# One trust policy per role, each pinned to one kind of job of one repository
# through the token's `sub` claim, matched exactly (never StringLike).
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
      values   = [each.value]
    }
  }
}

# --- deploy role: exactly what finlex-release and deploy.yml call -------------

resource "aws_iam_role" "deploy" {
  name                 = "${local.p}-github-deploy"
  description          = "${local.p}: GitHub deploy.yml (${var.github_repository}, environment ${var.deploy_environment})"
  assume_role_policy   = data.aws_iam_policy_document.trust["deploy"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

data "aws_iam_policy_document" "deploy" {
  # `docker login` to ECR. AWS defines no resource for this action: "*" is the
  # only accepted value. The token alone grants nothing; the repository
  # statements below decide what it can push or pull.
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # `docker push` (AWS's documented push set: layer checks and uploads,
  # manifest read and write), then the CLI's describe and scan-gate calls.
  statement {
    sid    = "EcrFinlexRepository"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:StartImageScan",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
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
  name   = "${local.p}-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# --- Terraform: state access shared by plan and apply -------------------------

data "aws_iam_policy_document" "state" {
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

  # S3-native locking (use_lockfile = true): the lock is an object next to the state.
  statement {
    sid       = "StateLockFile"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.arn_s3}/${var.state_key}.tflock"]
  }
}

# --- Terraform plan role (pull requests) ----------------------------------------

resource "aws_iam_role" "terraform_plan" {
  name                 = "${local.p}-github-terraform-plan"
  description          = "${local.p}: GitHub terraform.yml plan on pull requests of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

# A plan refreshes every resource of the root, across ECR, ECS, ELB, EC2,
# IAM, ACM, Route 53, CloudWatch Logs and Application Auto Scaling; AWS's
# ReadOnlyAccess policy follows those services' read APIs as they change.
resource "aws_iam_role_policy_attachment" "terraform_plan_read_only" {
  role       = aws_iam_role.terraform_plan.name
  policy_arn = "${local.arn_aws_iam}/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "terraform_plan_state" {
  name   = "${local.p}-terraform-state-read-and-lock"
  role   = aws_iam_role.terraform_plan.id
  policy = data.aws_iam_policy_document.state.json
}

# --- Terraform apply role (main branch) ---------------------------------------

resource "aws_iam_role" "terraform_apply" {
  name                 = "${local.p}-github-terraform-apply"
  description          = "${local.p}: GitHub terraform.yml apply on ${var.main_branch} of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust["apply"].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "terraform_apply_read_only" {
  role       = aws_iam_role.terraform_apply.name
  policy_arn = "${local.arn_aws_iam}/ReadOnlyAccess"
}

data "aws_iam_policy_document" "terraform_apply" {
  # checkov:skip=CKV_AWS_111:The only write actions on "*" are the ones AWS offers no usable resource scoping for (ecs:RegisterTaskDefinition/DeregisterTaskDefinition, acm:RequestCertificate, Application Auto Scaling with generated target ARNs); every other write is scoped to finlex-named ARNs, the service's VPC or its hosted zone.
  # checkov:skip=CKV_AWS_356:Same statements as CKV_AWS_111: task definition registration, certificate requests and scalable targets cannot be named before they exist, so "*" is the only resource that lets Terraform create them.
  source_policy_documents = [data.aws_iam_policy_document.state.json]

  statement {
    sid       = "StateWrite"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.arn_s3}/${var.state_key}"]
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
    resources = ["${local.arn_ecr}:repository/${local.p}*"]
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
      "${local.arn_ecs}:cluster/${local.p}*",
      "${local.arn_ecs}:service/${local.p}*/${local.p}*",
      "${local.arn_ecs}:task-definition/${local.p}*:*",
    ]
  }

  # No resource-level permissions exist for these (see the deploy role).
  statement {
    sid    = "EcsTaskDefinitionsNoResourceLevel"
    effect = "Allow"
    actions = [
      "ecs:DeregisterTaskDefinition",
      "ecs:RegisterTaskDefinition",
    ]
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
      "${local.arn_elb}:loadbalancer/app/${local.p}*/*",
      "${local.arn_elb}:listener/app/${local.p}*/*",
      "${local.arn_elb}:listener-rule/app/${local.p}*/*",
      "${local.arn_elb}:targetgroup/${substr(local.p, 0, 5)}*/*",
    ]
  }

  # Security groups in the service's VPC only (their ARNs carry random IDs).
  statement {
    sid    = "Ec2SecurityGroupsInTheServiceVpc"
    effect = "Allow"
    actions = [
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateSecurityGroup",
      "ec2:CreateTags",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteTags",
      "ec2:ModifySecurityGroupRules",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = [
      "${local.arn_ec2}:security-group/*",
      "${local.arn_ec2}:security-group-rule/*",
    ]

    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["${local.arn_ec2}:vpc/${var.vpc_id}"]
    }
  }

  statement {
    sid       = "Ec2CreateSecurityGroupInTheServiceVpc"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.arn_ec2}:vpc/${var.vpc_id}"]
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
    resources = ["${local.arn_logs}:log-group:/ecs/${local.p}*"]
  }

  # Certificates get random IDs: this account and region's certificates.
  statement {
    sid    = "AcmCertificates"
    effect = "Allow"
    actions = [
      "acm:AddTagsToCertificate",
      "acm:DeleteCertificate",
      "acm:RemoveTagsFromCertificate",
    ]
    resources = ["${local.arn_acm}:certificate/*"]
  }

  # RequestCertificate has no resource-level permissions.
  statement {
    sid       = "AcmRequestNoResourceLevel"
    effect    = "Allow"
    actions   = ["acm:RequestCertificate"]
    resources = ["*"]
  }

  statement {
    sid       = "Route53ServiceZoneRecords"
    effect    = "Allow"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["${local.arn_r53}hostedzone/${var.route53_zone_id}"]
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

  # The service's own roles and these pipeline roles. Managed policies may be
  # attached only from the list the infra uses.
  statement {
    sid    = "IamFinlexRoles"
    effect = "Allow"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["${local.arn_iam}:role/${local.p}-*"]
  }

  statement {
    sid       = "IamAttachKnownManagedPoliciesOnly"
    effect    = "Allow"
    actions   = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    resources = ["${local.arn_iam}:role/${local.p}-*"]

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = ["${local.arn_aws_iam}/ReadOnlyAccess"]
    }
  }

  statement {
    sid    = "IamGitHubOidcProvider"
    effect = "Allow"
    actions = [
      "iam:AddClientIDToOpenIDConnectProvider",
      "iam:CreateOpenIDConnectProvider",
      "iam:DeleteOpenIDConnectProvider",
      "iam:RemoveClientIDFromOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider",
      "iam:UntagOpenIDConnectProvider",
      "iam:UpdateOpenIDConnectProviderThumbprint",
    ]
    resources = ["${local.arn_iam}:oidc-provider/${local.oidc_host}"]
  }

  statement {
    sid       = "PassFinlexRolesToEcsTasksOnly"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["${local.arn_iam}:role/${local.p}-*"]

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
}

resource "aws_iam_role_policy" "terraform_apply" {
  name   = "${local.p}-terraform-apply"
  role   = aws_iam_role.terraform_apply.id
  policy = data.aws_iam_policy_document.terraform_apply.json
}
