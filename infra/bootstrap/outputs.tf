output "state_bucket" {
  description = "Name of the state bucket: the `bucket` of infra/backend.hcl."
  value       = aws_s3_bucket.state.bucket
}

output "state_bucket_arn" {
  description = "ARN of the state bucket (for the IAM policy of whoever runs Terraform)."
  value       = aws_s3_bucket.state.arn
}

output "state_kms_key_arn" {
  description = "The bucket's customer-managed KMS key (null: aws/s3). Pass it to infra/ as state_kms_key_arn, so that the pipeline's Terraform roles may use it."
  value       = var.kms_key_arn
}

output "backend_config" {
  description = "Ready-to-use content of infra/backend.hcl."
  value       = <<-EOT
    bucket = "${aws_s3_bucket.state.bucket}"
    key    = "finlex/terraform.tfstate"
    region = "${var.aws_region}"
  EOT
}
