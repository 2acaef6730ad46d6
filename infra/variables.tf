# Inputs of the root configuration. Variables that are passed to a module
# keep the module's name, type, default and validation (tests/infra checks
# that they agree).

variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as us-east-1 or eu-central-1."
  }
}

variable "name" {
  description = "Name (and prefix) of every resource: ECR repository, ALB, cluster, service, task family, log group, roles."
  type        = string
  default     = "finlex"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`, not ending in `-`."
  }
}

variable "tags" {
  description = "Extra tags for every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# --- network -------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC to deploy into. Null uses the account's default VPC and its default subnets (the quick start); then leave alb_subnet_ids and task_subnet_ids empty."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be null or look like vpc-0123456789abcdef0."
  }
}

variable "alb_subnet_ids" {
  description = "Public subnets of the load balancer, in at least 2 Availability Zones. Must be set when vpc_id is, empty otherwise."
  type        = list(string)
  default     = []

  validation {
    condition     = (var.vpc_id == null) == (length(var.alb_subnet_ids) == 0) && alltrue([for id in var.alb_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "alb_subnet_ids must list subnet IDs (subnet-...) when vpc_id is set, and be empty when vpc_id is null (default VPC)."
  }
}

variable "task_subnet_ids" {
  description = "Subnets of the tasks, in at least 2 Availability Zones: private subnets with NAT or VPC endpoints in production. Must be set when vpc_id is, empty otherwise."
  type        = list(string)
  default     = []

  validation {
    condition     = (var.vpc_id == null) == (length(var.task_subnet_ids) == 0) && alltrue([for id in var.task_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "task_subnet_ids must list subnet IDs (subnet-...) when vpc_id is set, and be empty when vpc_id is null (default VPC)."
  }
}

variable "assign_public_ip" {
  description = "Give each task a public IP. Needed only when tasks run in public subnets without NAT (the default-VPC quick start); their security group still admits only the ALB."
  type        = bool
  default     = false
}

variable "allowed_ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.allowed_ingress_cidrs) >= 1 && alltrue([for cidr in var.allowed_ingress_cidrs : can(cidrnetmask(cidr))])
    error_message = "allowed_ingress_cidrs must list at least one IPv4 CIDR block such as 203.0.113.0/24."
  }
}

variable "task_egress_cidrs" {
  description = "IPv4 CIDR blocks tasks may reach on port 443 (ECR, CloudWatch Logs and S3, directly, through NAT or through VPC endpoints). Narrow it to the VPC CIDR when every AWS API is reached through VPC endpoints."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.task_egress_cidrs) >= 1 && alltrue([for cidr in var.task_egress_cidrs : can(cidrnetmask(cidr))])
    error_message = "task_egress_cidrs must list at least one IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "task_egress_prefix_list_ids" {
  description = "Managed prefix lists tasks may also reach on port 443, e.g. the S3 gateway endpoint's prefix list (pl-...) in the private-subnet layout."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.task_egress_prefix_list_ids : can(regex("^pl-[0-9a-f]{8,17}$", id))])
    error_message = "task_egress_prefix_list_ids must hold prefix list IDs (pl-...)."
  }
}

# --- DNS -------------------------------------------------------------------------

variable "domain_name" {
  description = "Fully qualified domain name of the service (e.g. api.example.com): the certificate's name and the alias record to the ALB."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name)) && length(var.domain_name) <= 253
    error_message = "domain_name must be a lowercase fully qualified domain name such as api.example.com, without a trailing dot."
  }
}

variable "hosted_zone_id" {
  description = "ID of the public Route53 hosted zone that holds domain_name (for the certificate's DNS validation and the alias record)."
  type        = string

  validation {
    condition     = can(regex("^Z[0-9A-Z]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route53 zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

# --- load balancer ---------------------------------------------------------------

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion; set false before `terraform destroy`."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for the load balancer's access logs (its policy must let ELB log delivery write). Null turns access logs off."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be null or a valid S3 bucket name."
  }
}

# --- image, task size and logs ----------------------------------------------------

variable "image_tag" {
  description = "Tag of the image the task definition that Terraform registers runs. The pipeline deploys later images itself."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag: up to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`."
  }
}

variable "cpu" {
  description = "CPU units of the Fargate task (1024 = 1 vCPU)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of Fargate's sizes: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Memory of the Fargate task in MiB; must be a size Fargate offers for the chosen cpu."
  type        = number
  default     = 512

  validation {
    condition = contains(lookup({
      "256"   = [512, 1024, 2048]
      "512"   = range(1024, 4096 + 1, 1024)
      "1024"  = range(2048, 8192 + 1, 1024)
      "2048"  = range(4096, 16384 + 1, 1024)
      "4096"  = range(8192, 30720 + 1, 1024)
      "8192"  = range(16384, 61440 + 1, 4096)
      "16384" = range(32768, 122880 + 1, 8192)
    }, tostring(var.cpu), []), var.memory)
    error_message = "memory must be a size Fargate offers for the cpu: 256 -> 512, 1024, 2048; 512 -> 1024-4096 (step 1024); 1024 -> 2048-8192 (step 1024); 2048 -> 4096-16384 (step 1024); 4096 -> 8192-30720 (step 1024); 8192 -> 16384-61440 (step 4096); 16384 -> 32768-122880 (step 8192)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the container's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "secrets" {
  description = "Secrets of the container: environment variable name => exact ARN of an SSM parameter or a Secrets Manager secret, e.g. { FINLEX_API_KEY = \"arn:aws:ssm:us-east-1:123456789012:parameter/finlex/api-key\" }. ECS reads each value when a task starts; Terraform holds the ARN only. The rules (names, ARN forms, no clash with the app's settings): modules/ecs_cluster's secrets."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.secrets) : can(regex("^[A-Z][A-Z0-9_]{0,127}$", name)) && !startswith(name, "AWS_") && !startswith(name, "ECS_")])
    error_message = "secrets names must be upper-case environment variable names (A-Z, 0-9, `_`, starting with a letter, e.g. FINLEX_API_KEY), not starting with AWS_ or ECS_ (ECS sets those in the container)."
  }

  validation {
    condition     = alltrue([for arn in values(var.secrets) : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.-][A-Za-z0-9_./-]*$", arn)) || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", arn))])
    error_message = "secrets values must be exact ARNs: arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf (the full ARN with its 6-character suffix; no wildcard, no JSON key or version suffix)."
  }
}

variable "secrets_kms_key_arn" {
  description = "ARN of the customer-managed KMS key the secrets are encrypted with: the task execution role may decrypt with it through SSM and Secrets Manager only. Null: AWS-managed keys, no grant needed."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias."
  }
}

# --- service and autoscaling ------------------------------------------------------

variable "desired_count" {
  description = "Tasks the service starts with. With autoscaling off, also the scalable target's min and max: the service runs exactly this many, and a change moves it at the next apply. At least 2, so that tasks spread over 2 Availability Zones."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 2 && var.desired_count <= 1000 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number from 2 to 1000 (one task per Availability Zone at least)."
  }
}

variable "autoscaling_enabled" {
  description = "Scale the service by target tracking on CPU and on requests per target, between autoscaling_min_capacity and autoscaling_max_capacity. Off: the scalable target holds the count at desired_count (min = max) and has no policies. Switching it either way changes only the scalable target and its policies; the service stays in place, and its running count moves into the new range at once."
  type        = bool
  default     = true
}

variable "autoscaling_min_capacity" {
  description = "Fewest tasks autoscaling keeps (at least 2, for 2 Availability Zones)."
  type        = number
  default     = 2

  validation {
    condition     = var.autoscaling_min_capacity >= 2 && floor(var.autoscaling_min_capacity) == var.autoscaling_min_capacity && var.autoscaling_min_capacity <= var.desired_count
    error_message = "autoscaling_min_capacity must be a whole number, at least 2 and at most desired_count."
  }
}

variable "autoscaling_max_capacity" {
  description = "Most tasks autoscaling may run."
  type        = number
  default     = 6

  validation {
    condition     = var.autoscaling_max_capacity >= var.autoscaling_min_capacity && var.autoscaling_max_capacity >= var.desired_count && var.autoscaling_max_capacity <= 1000 && floor(var.autoscaling_max_capacity) == var.autoscaling_max_capacity
    error_message = "autoscaling_max_capacity must be a whole number from max(autoscaling_min_capacity, desired_count) to 1000."
  }
}

# --- ECR ---------------------------------------------------------------------------

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the repository even if it still holds images."
  type        = bool
  default     = false
}

variable "ecr_kms_key_arn" {
  description = "ARN of a KMS key to encrypt images with. Null (the default) uses AES256 with keys that ECR manages."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.ecr_kms_key_arn))
    error_message = "ecr_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "ecr_scan_type" {
  description = "BASIC: ECR scans each pushed image's OS packages. ENHANCED: Amazon Inspector scans the repository continuously, OS and Python packages, and scan-gate reads those findings; it sets the account's registry scanning configuration, an administrator's apply (modules/ecr/README.md)."
  type        = string
  default     = "BASIC"

  validation {
    condition     = contains(["BASIC", "ENHANCED"], var.ecr_scan_type)
    error_message = "ecr_scan_type must be BASIC or ENHANCED."
  }
}

# --- monitoring (modules/monitoring: alarms, their SNS topic, the dashboard) -------

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm the subscription from the mail AWS sends). Empty: no subscription; subscribe a pager or chat integration to the topic instead."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_emails) == length(distinct(var.alarm_emails)) && alltrue([for address in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_emails must list distinct email addresses such as ops@example.com."
  }
}

variable "alarm_topic_kms_key_arn" {
  description = "ARN of a customer-managed KMS key that encrypts the alarm topic; its key policy must let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*. Null creates such a key. The AWS-managed alias/aws/sns cannot be used: its policy does not admit CloudWatch, so alarms could not publish."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$", var.alarm_topic_kms_key_arn)) && !endswith(coalesce(var.alarm_topic_kms_key_arn, "-"), ":alias/aws/sns")
    error_message = "alarm_topic_kms_key_arn must be null or the ARN of a customer-managed KMS key or alias (arn:aws:kms:REGION:ACCOUNT:key/ID); alias/aws/sns does not admit CloudWatch alarms."
  }
}

variable "elb_5xx_threshold" {
  description = "Alarm when the load balancer itself answers more than this many 5xx (HTTPCode_ELB_5XX_Count: no healthy target, target reset or timeout) in a minute, in 2 of 3 minutes."
  type        = number
  default     = 10

  validation {
    condition     = var.elb_5xx_threshold >= 0 && floor(var.elb_5xx_threshold) == var.elb_5xx_threshold
    error_message = "elb_5xx_threshold must be a whole number of responses per minute, 0 or more."
  }
}

variable "target_5xx_rate_threshold" {
  description = "Alarm when more than this percentage of the requests the tasks answered in a minute were 5xx (HTTPCode_Target_5XX_Count / RequestCount), in 2 of 3 minutes. A deployment alarm."
  type        = number
  default     = 5

  validation {
    condition     = var.target_5xx_rate_threshold > 0 && var.target_5xx_rate_threshold < 100
    error_message = "target_5xx_rate_threshold must be a percentage above 0 and below 100."
  }
}

variable "target_5xx_min_requests" {
  description = "Minutes with fewer requests than this count as a 5xx rate of 0, so that 1 error in 3 requests does not page anyone."
  type        = number
  default     = 10

  validation {
    condition     = var.target_5xx_min_requests >= 1 && floor(var.target_5xx_min_requests) == var.target_5xx_min_requests
    error_message = "target_5xx_min_requests must be a whole number of requests per minute, at least 1."
  }
}

variable "p99_latency_threshold" {
  description = "Alarm when the 99th percentile of TargetResponseTime (seconds) is above this in 3 consecutive minutes. A deployment alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.p99_latency_threshold > 0 && var.p99_latency_threshold <= 60
    error_message = "p99_latency_threshold must be from above 0 to 60 seconds."
  }
}

variable "unhealthy_hosts_minutes" {
  description = "Alarm when the target group has an unhealthy target (UnHealthyHostCount > 0) for this many consecutive minutes. A deployment alarm."
  type        = number
  default     = 2

  validation {
    condition     = var.unhealthy_hosts_minutes >= 1 && var.unhealthy_hosts_minutes <= 60 && floor(var.unhealthy_hosts_minutes) == var.unhealthy_hosts_minutes
    error_message = "unhealthy_hosts_minutes must be a whole number from 1 to 60."
  }
}

variable "tasks_below_desired_minutes" {
  description = "Alarm when fewer tasks run than the service wants (Container Insights RunningTaskCount < DesiredTaskCount) for this many consecutive minutes; long enough for a scale-out to start its tasks."
  type        = number
  default     = 5

  validation {
    condition     = var.tasks_below_desired_minutes >= 1 && var.tasks_below_desired_minutes <= 60 && floor(var.tasks_below_desired_minutes) == var.tasks_below_desired_minutes
    error_message = "tasks_below_desired_minutes must be a whole number from 1 to 60."
  }
}

variable "cpu_utilization_threshold" {
  description = "Alarm when the service's average CPUUtilization (percent of the tasks' reservation) is above this for 5 consecutive minutes: autoscaling is at its maximum or not keeping up."
  type        = number
  default     = 85

  validation {
    condition     = var.cpu_utilization_threshold > 0 && var.cpu_utilization_threshold <= 100
    error_message = "cpu_utilization_threshold must be a percentage above 0 and at most 100."
  }
}

variable "memory_utilization_threshold" {
  description = "Alarm when the busiest task's MemoryUtilization (percent of the task's memory) is above this for 5 consecutive minutes: a leak or an undersized task, before the out-of-memory kill."
  type        = number
  default     = 85

  validation {
    condition     = var.memory_utilization_threshold > 0 && var.memory_utilization_threshold <= 100
    error_message = "memory_utilization_threshold must be a percentage above 0 and at most 100."
  }
}

# --- CI/CD pipeline (pipeline.tf: GitHub OIDC and the pipeline's roles) -------------

variable "github_repository" {
  description = "GitHub repository (OWNER/NAME) whose workflows may assume the pipeline's roles. terraform.yml sets it from github.repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME, e.g. acme/finlex (no wildcards)."
  }
}

variable "deploy_environment" {
  description = "GitHub environment of deploy.yml's deploy job (the place for required reviewers); the deploy role trusts only it."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.deploy_environment))
    error_message = "deploy_environment must be a GitHub environment name of letters, digits, `.`, `_` or `-`."
  }
}

variable "apply_environment" {
  description = "GitHub environment of terraform.yml's apply job (required reviewers approve each apply); the apply role trusts only it."
  type        = string
  default     = "infrastructure"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.apply_environment))
    error_message = "apply_environment must be a GitHub environment name of letters, digits, `.`, `_` or `-`."
  }
}

variable "default_branch" {
  description = "The repository's default branch. terraform.yml's plan on pushes and the daily drift job run on it, and the plan role trusts their tokens; the deploy and apply environments must allow it alone (make doctor FOR=deploy checks)."
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

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing token.actions.githubusercontent.com OIDC provider, if any (an account holds one). Null creates it."
  type        = string
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be null or arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com."
  }
}

variable "state_bucket_name" {
  description = "The Terraform state bucket (infra/bootstrap's state_bucket output, the bucket of backend.hcl): the Terraform roles may read it and write this root's state."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "state_key" {
  description = "This root's state key in the bucket (the key of backend.hcl)."
  type        = string
  default     = "finlex/terraform.tfstate"

  validation {
    condition     = length(var.state_key) > 0 && !startswith(var.state_key, "/") && !strcontains(var.state_key, "*")
    error_message = "state_key must be a relative object key without wildcards."
  }
}

variable "state_kms_key_arn" {
  description = "The state bucket's customer-managed KMS key (infra/bootstrap's state_kms_key_arn output), if it has one: the Terraform roles may use it through S3. Null when the bucket uses aws/s3."
  type        = string
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

# --- environments (environments/*.tfvars) --------------------------------------
# One root, one state and one var file per environment. Production's stack
# creates what the environments share (the image repository and GitHub's OIDC
# provider); every other environment reads them. A root applied without an
# environment file is production alone, as before environments existed.

variable "environment" {
  description = "Name of the environment this state holds (production, staging, ...), as its var file environments/<environment>.tfvars and its state key name it. Each environment's roles reach only its own resources through name (their prefix) and the Project tag (= name)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.environment)) && !endswith(var.environment, "-")
    error_message = "environment must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`, not ending in `-`."
  }
}

variable "create_shared_resources" {
  description = "Create the resources every environment shares: the image repository and GitHub's OIDC provider (production's stack). False reads them: the repository by image_repository_name, the provider by its URL (or github_oidc_provider_arn); that stack's roles never change them."
  type        = bool
  default     = true
}

variable "image_repository_name" {
  description = "Name of the shared image repository. Null: name, for the stack that creates it. A stack with create_shared_resources = false must name the repository production's stack created."
  type        = string
  default     = null

  validation {
    condition     = var.image_repository_name == null || can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", coalesce(var.image_repository_name, "x")))
    error_message = "image_repository_name must be null or an ECR repository name (lowercase letters, digits, `.`, `_`, `-`, `/` namespaces)."
  }

  validation {
    condition     = var.create_shared_resources || var.image_repository_name != null
    error_message = "image_repository_name must name the shared repository when create_shared_resources is false (the name production's stack gave it, finlex by default)."
  }
}

variable "deploy_role_pushes_images" {
  description = "Let this environment's deploy role push images. True for the environment that builds (staging, or production alone); false for one that only deploys digests another environment pushed and verified (production behind staging): its deploy role then has no push action, and the repository policy refuses it pushes too."
  type        = bool
  default     = true
}

variable "image_shared_with" {
  description = "For the stack that creates the image repository: the name of every other environment's stack in this account (e.g. finlex-staging). Their deploy roles may push (if their own policy lets them) and read manifests, their task execution roles pull; the repository policy refuses every other principal."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for peer in var.image_shared_with : can(regex("^[a-z][a-z0-9-]{0,19}$", peer)) && !endswith(peer, "-")])
    error_message = "image_shared_with must list stack names (the other environments' name): 1-20 lowercase letters, digits or `-`."
  }

  validation {
    condition     = var.create_shared_resources || length(var.image_shared_with) == 0
    error_message = "image_shared_with belongs to the stack that creates the repository (create_shared_resources = true)."
  }
}

variable "plan_environment" {
  description = "GitHub environment of terraform.yml's plan and drift jobs for this environment. Null: the plan role trusts pull requests and the default branch without an environment (one environment alone); set, it trusts that environment's tokens only, so each environment's plan role names its own."
  type        = string
  default     = null

  validation {
    condition     = var.plan_environment == null || can(regex("^[A-Za-z0-9._-]{1,255}$", coalesce(var.plan_environment, "x")))
    error_message = "plan_environment must be null or a GitHub environment name of letters, digits, `.`, `_` or `-`."
  }
}

variable "promotes_from" {
  description = "Environment whose verified digests this environment's deploy role may promote (reads its verification records): production sets staging. Null: none (a production-only setup, FINLEX_SKIP_STAGING)."
  type        = string
  default     = null

  validation {
    condition     = var.promotes_from == null || can(regex("^[a-z][a-z0-9-]{0,19}$", coalesce(var.promotes_from, "x")))
    error_message = "promotes_from must be null or 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`."
  }
}
