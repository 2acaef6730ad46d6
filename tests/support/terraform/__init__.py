"""Terraform in the tests: infra/ parsed as HCL, Terraform embedded, the real CLI."""
