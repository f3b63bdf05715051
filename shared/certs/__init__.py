"""CA certificates the project ships: AWS's RDS certificate authorities (see update_rds_ca_bundle)."""

from __future__ import annotations

from pathlib import Path

# The payment-processor image and the rotation function's archive both carry this one file.
RDS_CA_BUNDLE = Path(__file__).resolve().with_name("rds-ca-bundle.pem")
