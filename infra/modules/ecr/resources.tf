# The image repository of the service: immutable tags, scan on push, and a
# lifecycle policy that keeps storage bounded.

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  # ECR's basic scanning: every pushed image is scanned for OS-package CVEs.
  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Lifecycle rules apply in priority order, and an image that matches the tag
# selection of a rule can never be expired by a rule of lower priority. So each
# protected tag (the image_tag a Terraform task definition names) gets its own
# first rule that never fires: that image outlives any number of deploys.
locals {
  protect_rules = [
    for index, tag in var.protected_image_tags : {
      rulePriority = index + 1
      description  = "Keep ${tag}: a task definition names it"
      selection = {
        tagStatus      = "tagged"
        tagPatternList = [tag]
        countType      = "imageCountMoreThan"
        countNumber    = 1 # tags are immutable: one image per tag, never more
      }
      action = { type = "expire" }
    }
  ]
  first_free_priority = length(var.protected_image_tags) + 1
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = concat(local.protect_rules, [
      {
        rulePriority = local.first_free_priority
        description  = "Expire untagged images ${var.untagged_image_expiry_days} days after push"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = local.first_free_priority + 1
        description  = "Keep the last ${var.tagged_images_to_keep} tagged images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.tagged_images_to_keep
        }
        action = { type = "expire" }
      },
    ])
  })
}
