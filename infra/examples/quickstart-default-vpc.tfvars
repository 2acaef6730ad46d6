# Quick start: the account's default VPC. Its subnets are public and have no
# NAT, so tasks get a public IP to reach ECR and CloudWatch Logs; their
# security group still admits only the load balancer.
#   terraform plan -var-file=examples/quickstart-default-vpc.tfvars
aws_region     = "us-east-1"
domain_name    = "api.example.com"
hosted_zone_id = "Z0123456789ABCDEFGHIJ"
image_tag      = "1.0.1"

vpc_id           = null
assign_public_ip = true

# The pipeline's roles (pipeline.tf): the repository whose workflows deploy, and the state bucket.
github_repository = "example-org/finlex"
state_bucket_name = "finlex-tfstate-123456789012-us-east-1"
