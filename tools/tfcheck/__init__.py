"""Offline Terraform checks: argument schema, module inputs and references (see check.py)."""
