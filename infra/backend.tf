# Remote state in S3 with S3-native locking (no DynamoDB table). Partial
# configuration: bucket, key and region come from a file at init time:
#   terraform init -backend-config=backend.hcl
# (copy backend.hcl.example; infra/bootstrap creates the bucket).
#
# Encryption: the bucket's default, SSE-KMS (aws/s3 or the bootstrap's
# kms_key_arn, with an S3 bucket key). No `encrypt = true` here: without a
# kms_key_id it makes Terraform ask for AES256 on every write, which overrides
# the bucket's KMS default (and the bucket policy now refuses such writes).
# tests/infra writes a state through this block and checks it lands SSE-KMS.
terraform {
  backend "s3" {
    use_lockfile = true
  }
}
