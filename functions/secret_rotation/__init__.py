"""Secrets Manager rotation for the platform's secrets (API keys and a PostgreSQL connection)."""
