# Production, behind staging: terraform plan -var-file=environments/production.tfvars
# (terraform.tfvars, auto-loaded, holds what both environments share: region,
# hosted zone, network, github_repository, state_bucket_name, and production's
# domain_name). Init with this environment's state key first:
#   terraform init -reconfigure -backend-config=backend.hcl -backend-config=environments/production.backend.hcl
# Production alone (no staging) needs neither file: see infra/README.md.
environment = "production"
name        = "finlex"
state_key   = "finlex/terraform.tfstate"

# GitHub environments whose tokens the roles trust (one each).
deploy_environment = "production"
apply_environment  = "infrastructure"
plan_environment   = "production-plan"

# The shared image repository and GitHub's OIDC provider are made here;
# staging's stack reads them. Staging's deploy role pushes; this one only
# deploys digests staging verified.
create_shared_resources   = true
deploy_role_pushes_images = false
image_shared_with         = ["finlex-staging"]

# This deploy role reads staging's verification records to promote a digest
# (finlex-release promote --from staging), and writes production's own.
promotes_from = "staging"
