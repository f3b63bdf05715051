"""Running the platform on this machine: the three services on loopback with PostgreSQL, an emulated
Secrets Manager and fake key providers (`local`), the load benchmark and its baselines (`loadtest`,
`bench_chain`), and a secret rotation under load (`rotation_under_load`). Tooling only: no image copies
it, and the services in `apps/` never import it (tests/repository/test_layout.py)."""
