# --- naming and trust --------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of the roles made here and of every resource the roles may touch (the service's name)."
  type        = string
  default     = "finlex"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name_prefix)) && !endswith(var.name_prefix, "-")
    error_message = "name_prefix must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`, not ending in `-`."
  }
}

variable "github_repository" {
  description = "The one GitHub repository whose workflows may assume the roles, as OWNER/NAME."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME, e.g. acme/finlex (no wildcards)."
  }
}

variable "deploy_environment" {
  description = "GitHub environment of the deploy job; the deploy role trusts only tokens issued for it."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.deploy_environment))
    error_message = "deploy_environment must be a GitHub environment name of letters, digits, `.`, `_` or `-` (no wildcards)."
  }
}

variable "apply_environment" {
  description = "GitHub environment of terraform.yml's apply job (required reviewers, deployment branch main); the apply role trusts only tokens issued for it."
  type        = string
  default     = "infrastructure"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.apply_environment))
    error_message = "apply_environment must be a GitHub environment name of letters, digits, `.`, `_` or `-` (no wildcards)."
  }
}

variable "plan_environment" {
  description = "GitHub environment of the plan and drift jobs. Null: the plan role trusts pull requests and the default branch (no environment); set, only that environment's tokens, so that each environment's plan role names its own."
  type        = string
  default     = null

  validation {
    condition     = var.plan_environment == null || can(regex("^[A-Za-z0-9._-]{1,255}$", coalesce(var.plan_environment, "x")))
    error_message = "plan_environment must be null or a GitHub environment name of letters, digits, `.`, `_` or `-` (no wildcards)."
  }
}

variable "default_branch" {
  description = "The repository's default branch: the plan role also trusts terraform.yml's plan on pushes to it and the daily drift job (sub repo:OWNER/NAME:ref:refs/heads/BRANCH); the deploy and apply environments must allow it alone."
  type        = string
  default     = "main"

  # git check-ref-format's rules for a branch name (GitHub's `sub` claim and
  # StringEquals take it literally: no wildcard can widen the trust).
  validation {
    condition = (
      can(regex("^[^-./\\x00-\\x20\\x7f~^:?*\\[\\\\][^\\x00-\\x20\\x7f~^:?*\\[\\\\]*$", var.default_branch)) &&
      length(var.default_branch) <= 255 &&
      !strcontains(var.default_branch, "..") &&
      !strcontains(var.default_branch, "//") &&
      !strcontains(var.default_branch, "/.") &&
      !strcontains(var.default_branch, "@{") &&
      !strcontains(var.default_branch, ".lock/") &&
      !endswith(var.default_branch, "/") &&
      !endswith(var.default_branch, ".") &&
      !endswith(var.default_branch, ".lock") &&
      !contains(["@", "HEAD"], var.default_branch)
    )
    error_message = "default_branch must be a git branch name such as main or release/v2: no spaces, control characters, ~ ^ : ? * [ or \\, no `..`, `//`, `@{` or `/.`, not starting with `-`, `.` or `/`, not ending with `/`, `.` or `.lock`, not `@` or `HEAD`."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com provider. An account holds one per URL: null creates it here."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be null or arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com."
  }
}

variable "create_oidc_provider" {
  description = "With oidc_provider_arn null: create the account's GitHub OIDC provider here (true), or trust the one another stack of this account created, by its ARN (false: an environment beside production)."
  type        = bool
  default     = true
}

# --- what the deploy role works on (module outputs of ecr and ecs_cluster) ---
# Each ARN must name a resource of this service (its name starts with name_prefix).

variable "ecr_repository_arn" {
  description = "ARN of the image repository the pipeline pushes to and scans."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/${var.shared_ecr_repository_arn != null ? "[a-z0-9]+" : var.name_prefix}(?:[._/-][a-z0-9._/-]*)?$", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be the ARN of an ECR repository named after name_prefix (or, with shared_ecr_repository_arn, of any repository)."
  }
}

variable "shared_ecr_repository_arn" {
  description = "The shared image repository, when another environment's stack owns it (the same ARN as ecr_repository_arn, from a data source): ecr_repository_arn need not be named after name_prefix, the plan and apply roles read it and none of this module's roles may change it. Null: the repository is this stack's own. A variable of its own, so that a stack that owns the repository gives the Terraform roles' policies no dependency on it (their teardown would detach them)."
  type        = string
  default     = null

  validation {
    condition     = var.shared_ecr_repository_arn == null || can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9][a-z0-9._/-]*$", coalesce(var.shared_ecr_repository_arn, "x")))
    error_message = "shared_ecr_repository_arn must be null or the ARN of an ECR repository."
  }
}

variable "push_images" {
  description = "Let the deploy role push to the repository. False for an environment that deploys only digests another environment pushed (production behind staging): the role keeps the reads deploy and scan-gate need."
  type        = bool
  default     = true
}

variable "ecs_service_arn" {
  description = "ARN of the ECS service the pipeline deploys (long format: service/CLUSTER/SERVICE)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service/${var.name_prefix}(?:-[a-z0-9-]*)?/${var.name_prefix}(?:-[a-z0-9-]*)?$", var.ecs_service_arn))
    error_message = "ecs_service_arn must be the ARN of an ECS service named after name_prefix, in a cluster named after it."
  }
}

variable "task_definition_family" {
  description = "Family of the service's task definition; revisions the pipeline registers keep its tags (ecs:TagResource on this family only)."
  type        = string

  validation {
    condition     = can(regex("^${var.name_prefix}(?:[_-][A-Za-z0-9_-]*)?$", var.task_definition_family))
    error_message = "task_definition_family must be named after name_prefix."
  }
}

variable "task_role_arn" {
  description = "ARN of the task role; the deploy role may pass it to ECS tasks, nothing else."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[A-Za-z0-9+=,.@_-]+/)*${var.name_prefix}-[A-Za-z0-9+=,.@_-]+$", var.task_role_arn))
    error_message = "task_role_arn must be the ARN of an IAM role whose name starts with name_prefix-."
  }
}

variable "execution_role_arn" {
  description = "ARN of the task execution role; the deploy role may pass it to ECS tasks, nothing else."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[A-Za-z0-9+=,.@_-]+/)*${var.name_prefix}-[A-Za-z0-9+=,.@_-]+$", var.execution_role_arn))
    error_message = "execution_role_arn must be the ARN of an IAM role whose name starts with name_prefix-."
  }
}

# --- what the Terraform roles work on ----------------------------------------

variable "state_bucket_name" {
  description = "S3 bucket of the Terraform state (made by infra/bootstrap)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "state_key" {
  description = "Object key of this root's state in the bucket; the lock file is the same key + .tflock."
  type        = string
  default     = "finlex/terraform.tfstate"

  validation {
    condition     = length(var.state_key) > 0 && !startswith(var.state_key, "/") && !strcontains(var.state_key, "*")
    error_message = "state_key must be a relative object key without wildcards."
  }
}

variable "state_kms_key_arn" {
  description = "Customer-managed KMS key of the state bucket (infra/bootstrap's kms_key_arn). The Terraform roles may use it through S3 only. Null: the bucket uses aws/s3, which needs no IAM permission."
  type        = string
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "ecr_kms_key_arn" {
  description = "Customer-managed KMS key of the image repository (the ecr module's kms_key_arn). The apply role may let ECR check it and create and retire its grants. Null: no KMS permission."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.ecr_kms_key_arn))
    error_message = "ecr_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "vpc_id" {
  description = "VPC of the service's security groups; the apply role may create security groups in this VPC and change only those of this VPC that carry the tag Project = name_prefix."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "route53_zone_id" {
  description = "Hosted zone of the service's DNS and certificate-validation records; the apply role may change records there only."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.route53_zone_id))
    error_message = "route53_zone_id must be a Route 53 hosted zone ID (Z...)."
  }
}

variable "domain_name" {
  description = "The service's DNS name; the apply role may change only its records (and its certificate-validation records) and request certificates for it only."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name)) && length(var.domain_name) <= 253
    error_message = "domain_name must be a lowercase fully qualified domain name such as api.example.com, without a trailing dot."
  }
}

variable "max_session_duration" {
  description = "Longest session (seconds) a workflow may hold a role. Deploys wait for ECS; keep it above their timeout."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags for every resource of this module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "records_environment" {
  description = "Environment whose verification records (SSM parameters under /finlex/<environment>/verified) the deploy role writes and lists: this stack's own."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.records_environment))
    error_message = "records_environment must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`."
  }
}

variable "promotes_from" {
  description = "Environment whose verification records the deploy role may read to promote its digests (production: staging). Null: this stack promotes from none."
  type        = string
  default     = null

  validation {
    condition     = var.promotes_from == null || can(regex("^[a-z][a-z0-9-]{0,19}$", coalesce(var.promotes_from, "x")))
    error_message = "promotes_from must be null or 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`."
  }
}
