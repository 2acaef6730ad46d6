# --- naming ------------------------------------------------------------------

variable "name" {
  description = "Name (and prefix) of every resource: ALB, cluster, service, task family, log group, roles."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`, not ending in `-`."
  }
}

variable "tags" {
  description = "Tags for every resource of this module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# --- network -----------------------------------------------------------------

variable "vpc_id" {
  description = "ID of the VPC the load balancer, target group and security groups live in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "alb_subnet_ids" {
  description = "Subnets of the internet-facing load balancer: public subnets in at least 2 Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.alb_subnet_ids) >= 2 && alltrue([for id in var.alb_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "alb_subnet_ids must list at least 2 subnet IDs (subnet-...), in different Availability Zones."
  }
}

variable "task_subnet_ids" {
  description = "Subnets of the tasks, in at least 2 Availability Zones: private subnets with a NAT gateway or VPC endpoints (production), or public subnets with assign_public_ip = true (quick start)."
  type        = list(string)

  validation {
    condition     = length(var.task_subnet_ids) >= 2 && alltrue([for id in var.task_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "task_subnet_ids must list at least 2 subnet IDs (subnet-...), in different Availability Zones."
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

# --- DNS and TLS ---------------------------------------------------------------

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

variable "ssl_policy" {
  description = "Security policy of the HTTPS listener; must be a TLS 1.3 policy."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "ssl_policy must be one of the ELBSecurityPolicy-TLS13-* policies."
  }
}

variable "hsts_max_age" {
  description = "max-age, in seconds, of the Strict-Transport-Security header the HTTPS listener adds to responses; 0 adds no header."
  type        = number
  default     = 31536000

  validation {
    condition     = var.hsts_max_age >= 0 && var.hsts_max_age <= 63072000 && floor(var.hsts_max_age) == var.hsts_max_age
    error_message = "hsts_max_age must be a whole number of seconds from 0 to 63072000 (2 years)."
  }
}

# --- load balancer -------------------------------------------------------------

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion; set false before `terraform destroy`."
  type        = bool
  default     = true
}

variable "alb_idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open. The one value for both ends: the task's server keeps idle connections 5 s longer (FINLEX_KEEPALIVE_TIMEOUT), so the load balancer always closes first and never reuses a connection the server is closing (a 502). At most 55: the server's own limit is 60."
  type        = number
  default     = 55

  validation {
    condition     = var.alb_idle_timeout >= 1 && var.alb_idle_timeout <= 55
    error_message = "alb_idle_timeout must be from 1 to 55 seconds (the server keeps idle connections 5 s longer, at most 60)."
  }
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

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in access_logs_bucket."
  type        = string
  default     = "alb"

  validation {
    condition     = !startswith(var.access_logs_prefix, "/") && !endswith(var.access_logs_prefix, "/") && !strcontains(lower(var.access_logs_prefix), "awslogs")
    error_message = "access_logs_prefix must not start or end with `/` nor contain `AWSLogs`."
  }
}

# --- target group and health checks ---------------------------------------------

variable "container_port" {
  description = "TCP port the container listens on (the app's FINLEX_PORT; the app's default is 5000)."
  type        = number
  default     = 5000

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1 to 65535."
  }
}

variable "health_check_path" {
  description = "HTTP path of the app's health endpoint, probed by the target group."
  type        = string
  default     = "/healthz"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/._~-]*$", var.health_check_path)) && length(var.health_check_path) <= 1024
    error_message = "health_check_path must be an absolute URL path such as /healthz."
  }
}

variable "health_check_interval" {
  description = "Seconds between the target group's health checks of each task."
  type        = number
  default     = 10

  validation {
    condition     = var.health_check_interval >= 5 && var.health_check_interval <= 300
    error_message = "health_check_interval must be from 5 to 300 seconds."
  }
}

variable "health_check_timeout" {
  description = "Seconds the target group waits for a health-check answer; less than health_check_interval."
  type        = number
  default     = 5

  validation {
    condition     = var.health_check_timeout >= 2 && var.health_check_timeout <= 120 && var.health_check_timeout < var.health_check_interval
    error_message = "health_check_timeout must be from 2 to 120 seconds and less than health_check_interval."
  }
}

variable "healthy_threshold" {
  description = "Consecutive passed health checks before a task receives traffic."
  type        = number
  default     = 2

  validation {
    condition     = var.healthy_threshold >= 2 && var.healthy_threshold <= 10
    error_message = "healthy_threshold must be from 2 to 10."
  }
}

variable "unhealthy_threshold" {
  description = "Consecutive failed health checks before a task is taken out of service."
  type        = number
  default     = 3

  validation {
    condition     = var.unhealthy_threshold >= 2 && var.unhealthy_threshold <= 10
    error_message = "unhealthy_threshold must be from 2 to 10."
  }
}

# --- graceful shutdown ------------------------------------------------------------

variable "graceful_timeout" {
  description = "Seconds the app gives in-flight requests after SIGTERM (FINLEX_GRACEFUL_TIMEOUT; the app's default is 10)."
  type        = number
  default     = 10

  validation {
    condition     = var.graceful_timeout >= 1 && var.graceful_timeout <= 110 && floor(var.graceful_timeout) == var.graceful_timeout
    error_message = "graceful_timeout must be a whole number from 1 to 110 seconds (the app's range; Fargate's stopTimeout is at most 120)."
  }
}

variable "deregistration_delay" {
  description = "Seconds the target group drains a deregistering task before ECS stops it; short for fast deploys, longer than graceful_timeout."
  type        = number
  default     = 20

  validation {
    condition     = var.deregistration_delay > var.graceful_timeout && var.deregistration_delay <= 3600 && floor(var.deregistration_delay) == var.deregistration_delay
    error_message = "deregistration_delay must be a whole number of seconds, more than graceful_timeout and at most 3600."
  }
}

# The pre-stop delay's one home (FINLEX_PRESTOP_DELAY in the task's environment):
# after SIGTERM the server fails /healthz but serves on this long, so that the
# target group, which may still route to a task ECS stops (StopTask, scale-in, a
# deregistration still reaching every ALB node), sees unhealthy_threshold failed
# checks and stops routing before the server stops accepting. Here, beside the
# variables it derives from, so that stop_timeout's validation can read it.
locals {
  # Slack for a check in flight and for the ALB's nodes to agree.
  prestop_margin = 5
  prestop_delay  = var.health_check_interval * var.unhealthy_threshold + local.prestop_margin
  # Slack between the server's exit at the latest and ECS's SIGKILL.
  stop_margin = 5
}

variable "stop_timeout" {
  description = "Seconds ECS waits after SIGTERM before it kills the container (the container's stopTimeout); at least the pre-stop delay (health_check_interval x unhealthy_threshold + 5) + graceful_timeout + 5, at most 120 on Fargate."
  type        = number
  default     = 60

  validation {
    condition     = var.stop_timeout > var.graceful_timeout && var.stop_timeout <= 120 && floor(var.stop_timeout) == var.stop_timeout
    error_message = "stop_timeout must be a whole number of seconds, more than graceful_timeout and at most 120 (Fargate's limit)."
  }

  validation {
    condition     = var.stop_timeout >= local.prestop_delay + var.graceful_timeout + local.stop_margin
    error_message = "stop_timeout must cover the pre-stop delay (health_check_interval x unhealthy_threshold + 5 s), then graceful_timeout, plus 5 s: lower health_check_interval, unhealthy_threshold or graceful_timeout, or raise stop_timeout (at most 120)."
  }
}

variable "health_check_grace_period" {
  description = "Seconds after a task starts during which ECS ignores failing load-balancer health checks."
  type        = number
  default     = 60

  validation {
    condition     = var.health_check_grace_period >= 0 && var.health_check_grace_period <= 2147483647
    error_message = "health_check_grace_period must be from 0 to 2147483647 seconds."
  }
}

# --- task definition -----------------------------------------------------------

variable "image_repository_url" {
  description = "URL of the ECR repository the image comes from (the ecr module's repository_url)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+$", var.image_repository_url))
    error_message = "image_repository_url must be an ECR repository URL: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME."
  }
}

variable "image_repository_arn" {
  description = "ARN of the same ECR repository; the execution role may pull from it and from nothing else."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.image_repository_arn))
    error_message = "image_repository_arn must be an ECR repository ARN."
  }
}

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

variable "cpu_architecture" {
  description = "CPU architecture of the task; must match the image's platform."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "container_user" {
  description = "Numeric UID:GID the container runs as; never root."
  type        = string
  default     = "10001:10001"

  validation {
    condition     = can(regex("^[1-9][0-9]*(:[0-9]+)?$", var.container_user))
    error_message = "container_user must be a numeric, non-zero UID, optionally with :GID (e.g. 10001:10001)."
  }
}

variable "workers" {
  description = "Server worker processes (FINLEX_WORKERS). Null sizes them from cpu: 2 per vCPU plus 1, at least 1 (os.cpu_count() overstates a Fargate task's share)."
  type        = number
  default     = null

  validation {
    condition     = var.workers == null ? true : var.workers >= 1 && var.workers <= 64 && floor(var.workers) == var.workers
    error_message = "workers must be null or a whole number from 1 to 64."
  }
}

variable "log_level" {
  description = "Log level of the app (FINLEX_LOG_LEVEL)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warning", "error", "critical"], var.log_level)
    error_message = "log_level must be one of debug, info, warning, error, critical."
  }
}

variable "environment" {
  description = "Extra environment variables of the container; they override the FINLEX_* values this module sets."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Secrets of the container: environment variable name => the exact ARN of an SSM Parameter Store parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf, with the 6-character suffix). ECS reads each value when a task starts and sets the variable; the task definition, the plan and the state hold the ARN only. The execution role may read exactly these ARNs. A new value reaches only tasks started after it changed (force a new deployment)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.secrets) : can(regex("^[A-Z][A-Z0-9_]{0,127}$", name)) && !startswith(name, "AWS_") && !startswith(name, "ECS_")])
    error_message = "secrets names must be upper-case environment variable names (A-Z, 0-9, `_`, starting with a letter, e.g. FINLEX_API_KEY), not starting with AWS_ or ECS_ (ECS sets those in the container)."
  }

  # Names against environment and the app's settings, and ARNs against the
  # permissions boundary: preconditions in resources.tf (they read other values).

  validation {
    condition     = alltrue([for arn in values(var.secrets) : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.-][A-Za-z0-9_./-]*$", arn)) || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", arn))])
    error_message = "secrets values must be exact ARNs: arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf (the full ARN with its 6-character suffix; no wildcard, no JSON key or version suffix)."
  }
}

variable "secrets_kms_key_arn" {
  description = "ARN of the customer-managed KMS key the secrets are encrypted with. The execution role then gets kms:Decrypt on this key alone, and only through SSM or Secrets Manager (kms:ViaService); the key's policy must delegate to IAM. Null: the secrets use the AWS-managed keys (aws/ssm, aws/secretsmanager), which need no grant."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias."
  }
}

# --- cluster and logs -----------------------------------------------------------

variable "container_insights" {
  description = "CloudWatch Container Insights level of the cluster: enabled, or enhanced (more metrics, higher cost)."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced"], var.container_insights)
    error_message = "container_insights must be enabled or enhanced."
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

variable "log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the log group with; its key policy must allow CloudWatch Logs. Null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be null or the ARN of a KMS key."
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

variable "wait_for_steady_state" {
  description = "Make `terraform apply` wait until the service is stable. It does not catch a failed deployment: the circuit breaker rolls it back, which makes the service stable on the previous revision, so the apply still succeeds (terraform-provider-aws#19519). `finlex-release deploy` follows its deployment by ID and fails on a rollback."
  type        = bool
  default     = true
}

variable "deployment_alarm_names" {
  description = "CloudWatch alarms that fail a deployment and roll it back when one goes to ALARM during the deployment or its bake time (modules/monitoring's deployment_alarm_names). Empty: only the circuit breaker rolls back."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.deployment_alarm_names) == length(distinct(var.deployment_alarm_names)) && alltrue([for alarm_name in var.deployment_alarm_names : length(alarm_name) >= 1 && length(alarm_name) <= 255 && !strcontains(alarm_name, ",")])
    error_message = "deployment_alarm_names must list distinct alarm names of 1-255 characters without commas."
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

variable "autoscaling_cpu_target" {
  description = "Average CPU utilisation (percent) that autoscaling keeps the service at."
  type        = number
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target >= 10 && var.autoscaling_cpu_target <= 90
    error_message = "autoscaling_cpu_target must be from 10 to 90 percent."
  }
}

variable "autoscaling_requests_per_target" {
  description = "ALB requests per task per minute (ALBRequestCountPerTarget) that autoscaling keeps the service at."
  type        = number
  default     = 1000

  validation {
    condition     = var.autoscaling_requests_per_target >= 1
    error_message = "autoscaling_requests_per_target must be at least 1."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the execution and task roles. The pipeline's apply role may create or change roles only with its boundary (modules/pipeline_roles output permissions_boundary_arn). Null sets none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be null or the ARN of an IAM managed policy."
  }
}
