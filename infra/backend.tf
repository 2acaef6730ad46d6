# Remote state in S3 with S3-native locking (no DynamoDB table). Partial
# configuration: bucket, key and region come from a file at init time:
#   terraform init -backend-config=backend.hcl
# (copy backend.hcl.example; infra/bootstrap creates the bucket).
terraform {
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}
