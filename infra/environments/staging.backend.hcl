# Staging's state object, added to backend.hcl's bucket and region:
#   terraform init -reconfigure -backend-config=backend.hcl -backend-config=environments/staging.backend.hcl
key = "finlex-staging/terraform.tfstate"
