output "oidc_provider_arn" {
  description = "ARN of GitHub's OIDC provider in this account (created here or passed in)."
  value       = local.oidc_provider_arn
}

output "deploy_role_arn" {
  description = "Role for deploy.yml: set it as the repository variable AWS_DEPLOY_ROLE_ARN."
  value       = aws_iam_role.deploy.arn
}

output "terraform_plan_role_arn" {
  description = "Role for terraform.yml plans on pull requests: the repository variable AWS_TERRAFORM_PLAN_ROLE_ARN."
  value       = aws_iam_role.terraform_plan.arn
}

output "terraform_apply_role_arn" {
  description = "Role for terraform.yml applies (apply environment): the repository variable AWS_TERRAFORM_APPLY_ROLE_ARN."
  value       = aws_iam_role.terraform_apply.arn
}

output "deploy_subject" {
  description = "The one `sub` claim the deploy role accepts."
  value       = "repo:${var.github_repository}:environment:${var.deploy_environment}"
}

output "apply_subject" {
  description = "The one `sub` claim the Terraform apply role accepts."
  value       = one(local.trust_subjects["apply"])
}

output "permissions_boundary_arn" {
  description = "Permissions boundary that every role the apply role creates or changes must carry (set it as permissions_boundary of the service's roles)."
  value       = aws_iam_policy.service_role_boundary.arn
}
