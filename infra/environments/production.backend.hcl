# Production's state object, added to backend.hcl's bucket and region:
#   terraform init -reconfigure -backend-config=backend.hcl -backend-config=environments/production.backend.hcl
# The key production-alone stacks have always used, so one that adds staging
# later keeps its state where it is.
key = "finlex/terraform.tfstate"
