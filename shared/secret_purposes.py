"""The platform's secrets, by what they hold. Pulumi-free: the app images import it via the catalogue."""

from __future__ import annotations


class SecretPurposes:
    """The keys of `PlatformExports.SECRET_ARNS`, and what the catalogue maps env vars to."""

    DATABASE_CONNECTION = "databaseConnection"  # JSON: engine, host, port, username, password, dbname
    PAYMENT_PROVIDER_API_KEY = "paymentProviderApiKey"
    FRAUD_SCORING_API_KEY = "fraudScoringApiKey"
    ALL = (DATABASE_CONNECTION, PAYMENT_PROVIDER_API_KEY, FRAUD_SCORING_API_KEY)
    # Keys of third parties: whoever holds one calls that party's host (through the egress proxy under pci).
    THIRD_PARTY = (PAYMENT_PROVIDER_API_KEY, FRAUD_SCORING_API_KEY)
