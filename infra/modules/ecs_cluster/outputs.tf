output "service_url" {
  description = "HTTPS URL of the service."
  value       = "https://${var.domain_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (the alias record points here; a request with this name as its Host gets the listener's 404: only domain_name is forwarded)."
  value       = aws_lb.this.dns_name
}

output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (app/NAME/ID): the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn" {
  description = "ARN of the target group the service registers its tasks in."
  value       = aws_lb_target_group.this.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (targetgroup/NAME/ID): the TargetGroup dimension of its CloudWatch metrics."
  value       = aws_lb_target_group.this.arn_suffix
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service (for the deploy role's ecs:UpdateService and ecs:DescribeServices)."
  value       = aws_ecs_service.this.id
}

output "task_definition_family" {
  description = "Family of the task definition; the pipeline registers new revisions in it."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "ARN of the task definition revision that Terraform registered."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the app's container in the task definition (the pipeline replaces its image)."
  value       = local.container_name
}

output "task_execution_role_arn" {
  description = "ARN of the task execution role (the deploy role needs iam:PassRole on it)."
  value       = aws_iam_role.execution.arn
}

output "secrets" {
  description = "The container's secrets: environment variable name => the ARN ECS reads it from when a task starts (ARNs only, never a value)."
  value       = var.secrets
}

output "task_role_arn" {
  description = "ARN of the task role (the deploy role needs iam:PassRole on it)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "Name of the CloudWatch log group of the container."
  value       = aws_cloudwatch_log_group.this.name
}

output "alb_security_group_id" {
  description = "ID of the load balancer's security group."
  value       = aws_security_group.alb.id
}

output "task_security_group_id" {
  description = "ID of the tasks' security group (e.g. to admit them to VPC endpoints)."
  value       = aws_security_group.tasks.id
}
