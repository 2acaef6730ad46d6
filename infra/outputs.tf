# Outputs of the root configuration: what people and the pipeline need.

output "service_url" {
  description = "HTTPS URL of the service."
  value       = module.ecs_cluster.service_url
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.ecs_cluster.alb_dns_name
}

output "aws_region" {
  description = "Region everything was deployed to."
  value       = var.aws_region
}

output "ecr_repository_url" {
  description = "URL of the ECR repository to push images to."
  value       = local.image_repository.url
}

output "ecr_repository_name" {
  description = "Name of the ECR repository."
  value       = local.image_repository.name
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository (for the pipeline's push permissions)."
  value       = local.image_repository.arn
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs_cluster.cluster_name
}

output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = module.ecs_cluster.cluster_arn
}

output "ecs_service_name" {
  description = "Name of the ECS service the pipeline deploys to."
  value       = module.ecs_cluster.service_name
}

output "ecs_service_arn" {
  description = "ARN of the ECS service."
  value       = module.ecs_cluster.service_arn
}

output "task_definition_family" {
  description = "Family of the task definition; the pipeline registers new revisions in it."
  value       = module.ecs_cluster.task_definition_family
}

output "container_name" {
  description = "Name of the app's container in the task definition."
  value       = module.ecs_cluster.container_name
}

output "task_execution_role_arn" {
  description = "ARN of the task execution role (the deploy role needs iam:PassRole on it)."
  value       = module.ecs_cluster.task_execution_role_arn
}

output "task_role_arn" {
  description = "ARN of the task role (the deploy role needs iam:PassRole on it)."
  value       = module.ecs_cluster.task_role_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the container."
  value       = module.ecs_cluster.log_group_name
}

# --- CI/CD pipeline: the values of the GitHub repository variables --------------------

output "github_deploy_role_arn" {
  description = "Repository variable AWS_DEPLOY_ROLE_ARN (deploy.yml)."
  value       = module.pipeline_roles.deploy_role_arn
}

output "github_terraform_plan_role_arn" {
  description = "Repository variable AWS_TERRAFORM_PLAN_ROLE_ARN (terraform.yml, pull requests)."
  value       = module.pipeline_roles.terraform_plan_role_arn
}

output "github_terraform_apply_role_arn" {
  description = "Repository variable AWS_TERRAFORM_APPLY_ROLE_ARN (terraform.yml, main)."
  value       = module.pipeline_roles.terraform_apply_role_arn
}

# --- monitoring ----------------------------------------------------------------------------

output "dashboard_url" {
  description = "Console URL of the service's CloudWatch dashboard."
  value       = module.monitoring.dashboard_url
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify on ALARM and on OK (subscribe pagers or chat here)."
  value       = module.monitoring.alarm_topic_arn
}

output "alarm_names" {
  description = "Name of every CloudWatch alarm, by key."
  value       = module.monitoring.alarm_names
}

output "deployment_alarm_names" {
  description = "The alarms whose ALARM state rolls a deployment back."
  value       = module.monitoring.deployment_alarm_names
}

output "environment" {
  description = "The environment this state holds (its var file environments/<environment>.tfvars)."
  value       = var.environment
}
