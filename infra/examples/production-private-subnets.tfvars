# Production: the load balancer in public subnets, tasks in private subnets
# without public IPs. The private subnets reach ECR, CloudWatch Logs and S3
# either through a NAT gateway, or through VPC endpoints (interface endpoints
# ecr.api, ecr.dkr and logs with private DNS; the S3 gateway endpoint).
# See README.md, "Network layouts".
#   terraform plan -var-file=examples/production-private-subnets.tfvars
aws_region     = "us-east-1"
domain_name    = "api.example.com"
hosted_zone_id = "Z0123456789ABCDEFGHIJ"
image_tag      = "1.0.1"

vpc_id           = "vpc-0123456789abcdef0"
alb_subnet_ids   = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
task_subnet_ids  = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
assign_public_ip = false

# With VPC endpoints only (no NAT): HTTPS to the endpoints inside the VPC and
# to S3 through the gateway endpoint's prefix list.
task_egress_cidrs           = ["10.0.0.0/16"]
task_egress_prefix_list_ids = ["pl-63a5400a"]

access_logs_bucket       = "finlex-alb-logs-123456789012-us-east-1"
autoscaling_max_capacity = 10

# The pipeline's roles (pipeline.tf): the repository whose workflows deploy, and the state bucket.
github_repository = "example-org/finlex"
state_bucket_name = "finlex-tfstate-123456789012-us-east-1"
