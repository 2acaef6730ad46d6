# The pipeline's side in AWS: GitHub's OIDC provider and the roles of
# deploy.yml (deploy) and terraform.yml (plan, apply). See
# modules/pipeline_roles/README.md for what each role may do and why.

module "pipeline_roles" {
  source = "./modules/pipeline_roles"

  name_prefix        = var.name
  github_repository  = var.github_repository
  deploy_environment = var.deploy_environment
  apply_environment  = var.apply_environment
  default_branch     = var.default_branch
  plan_environment   = var.plan_environment
  oidc_provider_arn  = var.github_oidc_provider_arn
  # The account's one OIDC provider for GitHub: production's stack creates it
  # (unless github_oidc_provider_arn names one); the others trust it by its ARN.
  create_oidc_provider = var.create_shared_resources

  # The deploy role works on these resources only.
  ecr_repository_arn = local.image_repository.arn
  # Only where another stack owns it: from the data source, never from module.ecr.
  shared_ecr_repository_arn = var.create_shared_resources ? null : data.aws_ecr_repository.shared[0].arn
  push_images               = var.deploy_role_pushes_images
  # Verification records: this environment's own, and read-only those of the
  # environment it promotes from.
  records_environment    = var.environment
  promotes_from          = var.promotes_from
  ecs_service_arn        = module.ecs_cluster.service_arn
  task_definition_family = module.ecs_cluster.task_definition_family
  task_role_arn          = module.ecs_cluster.task_role_arn
  execution_role_arn     = module.ecs_cluster.task_execution_role_arn

  # The Terraform roles: state, and where the apply role may change things.
  state_bucket_name = var.state_bucket_name
  state_key         = var.state_key
  state_kms_key_arn = var.state_kms_key_arn
  ecr_kms_key_arn   = var.ecr_kms_key_arn
  vpc_id            = local.vpc_id
  route53_zone_id   = var.hosted_zone_id
  domain_name       = var.domain_name
}

# The module was called github_oidc until it was named after what it holds:
# the same provider, roles and policies, no replacement (tests/rehearsal
# plans a state of the old name against this one: 0 changes).
moved {
  from = module.github_oidc
  to   = module.pipeline_roles
}
