variable "aws_region" {
  description = "AWS region of the state bucket."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as us-east-1 or eu-central-1."
  }
}

variable "state_bucket_name" {
  description = "Globally unique name of the state bucket, e.g. finlex-tfstate-ACCOUNT-REGION."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name)) && !can(regex("^xn--|-s3alias$|--ol-s3$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-63 lowercase letters, digits or `-`, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for the bucket. Null uses the AWS-managed key aws/s3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or the ARN of a KMS key."
  }
}

variable "noncurrent_version_days" {
  description = "Days earlier versions of the state are kept (to recover from a bad apply) before they expire."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1 && floor(var.noncurrent_version_days) == var.noncurrent_version_days
    error_message = "noncurrent_version_days must be a whole number of days, at least 1."
  }
}

variable "tags" {
  description = "Extra tags for the bucket (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}
