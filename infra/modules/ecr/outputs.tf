output "repository_url" {
  description = "URL of the repository (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), to tag and push images to."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository, for IAM policies (pull for the task execution role, push for the pipeline)."
  value       = aws_ecr_repository.this.arn
}

output "repository_name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}
