# Staging: terraform plan -var-file=environments/staging.tfvars, after
#   terraform init -reconfigure -backend-config=backend.hcl -backend-config=environments/staging.backend.hcl
# terraform.tfvars (auto-loaded) holds what both environments share; this
# file overrides what is staging's own. Production's stack must exist first:
# it creates the image repository and GitHub's OIDC provider read here.
environment = "staging"
name        = "finlex-staging"
state_key   = "finlex-staging/terraform.tfstate"

# Staging's own DNS name, in the same hosted zone as production's.
domain_name = "staging.api.example.com"

# GitHub environments whose tokens the roles trust (one each).
deploy_environment = "staging"
apply_environment  = "staging-infrastructure"
plan_environment   = "staging-plan"

# Read the shared repository and OIDC provider; this deploy role pushes the
# image (built once) that production later deploys by digest.
create_shared_resources   = false
image_repository_name     = "finlex"
deploy_role_pushes_images = true

# A smaller service: two tasks, no scale-out beyond four.
autoscaling_max_capacity = 4
alarm_emails             = []
