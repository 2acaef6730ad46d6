"""finlex-release: gate, deploy, verify and roll back the finlex service on ECS."""
