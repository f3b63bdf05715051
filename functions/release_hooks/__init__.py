"""CodeDeploy lifecycle hooks for the ECS blue/green releases: an image-scan gate and a smoke test."""
