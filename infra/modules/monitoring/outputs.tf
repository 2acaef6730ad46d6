output "deployment_alarm_names" {
  description = "Names of the alarms that mean \"this release is bad\" (target 5xx rate, p99 latency, unhealthy targets), for the ECS service's deployment alarms. Built from var.name alone, so the service can take them without a dependency cycle."
  value       = local.deployment_alarm_names
}

output "alarm_names" {
  description = "Name of every alarm of the module, by key (elb_5xx, target_5xx_rate, p99_latency, unhealthy_hosts, tasks_below_desired, cpu_high, memory_high)."
  value       = local.alarm_names
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify on ALARM and on OK; subscribe pagers or chat integrations to it."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_topic_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the alarm topic (the one given, or the one created)."
  value       = local.topic_key_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = local.dashboard_url
}
