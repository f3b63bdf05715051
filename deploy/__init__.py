"""Real deployments: ordered preview / up / destroy / outputs across the layers (Automation API)."""
