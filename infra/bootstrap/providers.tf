# Bootstrap: creates the S3 bucket that holds the main configuration's state.
# Its own state is local (there is no bucket yet); keep terraform.tfstate of
# this folder safe, or import the bucket again if it is lost.
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project   = "finlex"
      ManagedBy = "terraform"
      Purpose   = "terraform-state"
    })
  }
}
