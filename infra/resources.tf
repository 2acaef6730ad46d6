# Wires the modules together: the ECR repository feeds the image URL and
# ARN to the ECS service module; the monitoring module watches the service
# and hands it the names of its deployment alarms. With vpc_id = null, the
# account's default VPC and its default subnets are used (the quick start).

data "aws_vpc" "default" {
  count   = var.vpc_id == null ? 1 : 0
  default = true
}

data "aws_subnets" "default" {
  count = var.vpc_id == null ? 1 : 0

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default[0].id]
  }

  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

locals {
  vpc_id          = var.vpc_id == null ? data.aws_vpc.default[0].id : var.vpc_id
  alb_subnet_ids  = var.vpc_id == null ? sort(data.aws_subnets.default[0].ids) : var.alb_subnet_ids
  task_subnet_ids = var.vpc_id == null ? sort(data.aws_subnets.default[0].ids) : var.task_subnet_ids
}

# --- the shared image repository ----------------------------------------------
# Production's stack (create_shared_resources) creates it; every other
# environment reads it by name. An image is built and pushed once, and each
# environment deploys it by digest.

data "aws_ecr_repository" "shared" {
  count = var.create_shared_resources ? 0 : 1
  name  = var.image_repository_name
}

locals {
  image_repository = var.create_shared_resources ? {
    url  = module.ecr[0].repository_url
    arn  = module.ecr[0].repository_arn
    name = module.ecr[0].repository_name
    } : {
    url  = data.aws_ecr_repository.shared[0].repository_url
    arn  = data.aws_ecr_repository.shared[0].arn
    name = data.aws_ecr_repository.shared[0].name
  }

  # The other environments' roles, by the names their own stacks give them
  # (modules/pipeline_roles, modules/ecs_cluster): names, not references, since
  # each lives in another state. The execution role has a generated suffix.
  account_iam     = regex("^(arn:[^:]+:iam::[0-9]{12}):", module.pipeline_roles.deploy_role_arn)[0]
  peer_deployers  = [for peer in var.image_shared_with : "${local.account_iam}:role/${peer}-github-deploy"]
  peer_executions = [for peer in var.image_shared_with : "${local.account_iam}:role/${peer}-execution-*"]
}

# The repository moved under count when environments came (it is production's
# alone): the same repository, no replacement.
moved {
  from = module.ecr
  to   = module.ecr[0]
}

module "ecr" {
  source = "./modules/ecr"
  count  = var.create_shared_resources ? 1 : 0

  name         = coalesce(var.image_repository_name, var.name)
  force_delete = var.ecr_force_delete
  kms_key_arn  = var.ecr_kms_key_arn

  # The image Terraform's own task definition names must outlive later releases.
  protected_image_tags = [var.image_tag]

  # Only the deploy roles that build push (this one unless it only promotes,
  # and the other environments'); only the task execution roles pull; every
  # deploy role reads manifests.
  push_principal_arns = concat(var.deploy_role_pushes_images ? [module.pipeline_roles.deploy_role_arn] : [], local.peer_deployers)
  pull_principal_arns = concat([module.ecs_cluster.task_execution_role_arn], local.peer_executions)
  read_principal_arns = var.deploy_role_pushes_images ? [] : [module.pipeline_roles.deploy_role_arn]
  scan_type           = var.ecr_scan_type
}

module "ecs_cluster" {
  source = "./modules/ecs_cluster"

  name = var.name

  vpc_id                      = local.vpc_id
  alb_subnet_ids              = local.alb_subnet_ids
  task_subnet_ids             = local.task_subnet_ids
  assign_public_ip            = var.assign_public_ip
  allowed_ingress_cidrs       = var.allowed_ingress_cidrs
  task_egress_cidrs           = var.task_egress_cidrs
  task_egress_prefix_list_ids = var.task_egress_prefix_list_ids

  domain_name             = var.domain_name
  hosted_zone_id          = var.hosted_zone_id
  alb_deletion_protection = var.alb_deletion_protection
  access_logs_bucket      = var.access_logs_bucket

  image_repository_url = local.image_repository.url
  image_repository_arn = local.image_repository.arn
  image_tag            = var.image_tag
  cpu                  = var.cpu
  memory               = var.memory
  log_retention_days   = var.log_retention_days
  secrets              = var.secrets
  secrets_kms_key_arn  = var.secrets_kms_key_arn

  # Roles the apply role may change carry its boundary (modules/pipeline_roles).
  permissions_boundary_arn = module.pipeline_roles.permissions_boundary_arn

  desired_count            = var.desired_count
  autoscaling_enabled      = var.autoscaling_enabled
  autoscaling_min_capacity = var.autoscaling_min_capacity
  autoscaling_max_capacity = var.autoscaling_max_capacity

  # Names only (strings built from var.name): the alarms need the service's
  # name, so a reference to the alarm resources would be a cycle.
  deployment_alarm_names = module.monitoring.deployment_alarm_names
}

module "monitoring" {
  source = "./modules/monitoring"

  name = var.name

  load_balancer_arn_suffix = module.ecs_cluster.alb_arn_suffix
  target_group_arn_suffix  = module.ecs_cluster.target_group_arn_suffix
  cluster_name             = module.ecs_cluster.cluster_name
  service_name             = module.ecs_cluster.service_name
  log_group_name           = module.ecs_cluster.log_group_name

  alarm_emails            = var.alarm_emails
  alarm_topic_kms_key_arn = var.alarm_topic_kms_key_arn

  elb_5xx_threshold            = var.elb_5xx_threshold
  target_5xx_rate_threshold    = var.target_5xx_rate_threshold
  target_5xx_min_requests      = var.target_5xx_min_requests
  p99_latency_threshold        = var.p99_latency_threshold
  unhealthy_hosts_minutes      = var.unhealthy_hosts_minutes
  tasks_below_desired_minutes  = var.tasks_below_desired_minutes
  cpu_utilization_threshold    = var.cpu_utilization_threshold
  memory_utilization_threshold = var.memory_utilization_threshold
}
