variable "name" {
  description = "Name of the ECR repository (lowercase; may contain `/` namespaces)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 lowercase letters, digits, and single `.`, `_`, `-` or `/` separators."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt images with. Null (the default) uses AES256 with keys that ECR manages."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "untagged_image_expiry_days" {
  description = "Untagged images (layers left behind by re-pushes) expire this many days after they were pushed."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a whole number of days, at least 1."
  }
}

variable "tagged_images_to_keep" {
  description = "How many tagged images to keep; older ones expire. Keep enough for rollbacks."
  type        = number
  default     = 30

  validation {
    condition     = var.tagged_images_to_keep >= 1 && var.tagged_images_to_keep <= 10000 && floor(var.tagged_images_to_keep) == var.tagged_images_to_keep
    error_message = "tagged_images_to_keep must be a whole number from 1 to 10000."
  }
}

variable "protected_image_tags" {
  description = "Tags whose images the lifecycle policy never expires, e.g. the image_tag that Terraform's task definition names. Releases deployed by digest are kept by tagged_images_to_keep."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.protected_image_tags) <= 10 && alltrue([for tag in var.protected_image_tags : can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", tag))])
    error_message = "protected_image_tags must hold at most 10 image tags (letters, digits, _, . and -, up to 128 characters, not starting with . or -)."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository even if it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of this module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "push_principal_arns" {
  description = "The only IAM roles that may push images (the pipeline's deploy role); they may also read manifests. The repository policy denies pushes to every other principal. Empty (with pull_principal_arns empty): no repository policy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.push_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "push_principal_arns must hold IAM role ARNs (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "pull_principal_arns" {
  description = "The only IAM roles that may pull images (the ECS task execution role). The repository policy denies layer downloads to every other principal, and manifest reads to all but these and push_principal_arns."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.pull_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "pull_principal_arns must hold IAM role ARNs (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "read_principal_arns" {
  description = "IAM roles that may read manifests (BatchGetImage) but neither push nor pull layers: the deploy role of an environment that deploys digests another one pushed. The repository policy adds them to the manifest readers only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.read_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "read_principal_arns must hold IAM role ARNs (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "scan_type" {
  description = "BASIC: ECR scans each pushed image's OS packages. ENHANCED: Amazon Inspector scans this repository's images continuously, OS and language (Python) packages; it sets the registry's scanning configuration, which is account-wide (see README)."
  type        = string
  default     = "BASIC"

  validation {
    condition     = contains(["BASIC", "ENHANCED"], var.scan_type)
    error_message = "scan_type must be BASIC or ENHANCED."
  }
}
