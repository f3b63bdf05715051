"""The platform's three secrets, encrypted with its key, with initial values that let tasks start.

An initial value comes from `--secret` stack config when given, else from a generated random value
(kept encrypted in the Pulumi state, never printed). After creation rotation owns the value, so
Pulumi ignores later changes to it. With the managed database the connection secret names the DB
instance's address and its RDS-managed master secret (`masterarn`), which the rotation function uses
to create the application's role with the generated password and to rotate it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from shared import naming
from shared.config.platform import DatabaseConfig
from shared.contracts import SecretPurposes
from shared.tags import ServiceTags

API_KEY_LENGTH = 48
DATABASE_PASSWORD_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class PlatformSecretsArgs:
    """What the platform's three secrets are made from. No field has a default.

    Fields:
        namer: names every secret with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        key_arn: the platform KMS key that encrypts every secret.
        database: the `database*` keys: the connection the database secret holds.
        managed_database: the managed instance's address and master secret ARN; None with
            `database: external`, whose host and password come from config.
        payment_provider_api_key: `paymentProviderApiKey` (secret), or None for a generated value.
        fraud_scoring_api_key: `fraudScoringApiKey` (secret), or None for a generated value.
    """

    namer: naming.Namer
    tags: ServiceTags
    key_arn: pulumi.Input[str]
    database: DatabaseConfig
    managed_database: ManagedEndpoint | None
    payment_provider_api_key: pulumi.Output[str] | None
    fraud_scoring_api_key: pulumi.Output[str] | None


@dataclass(frozen=True, kw_only=True)
class ManagedEndpoint:
    """Where the managed database is and whose secret holds its master credentials.

    Fields:
        address: the DB instance's host name (its endpoint without the port).
        master_secret_arn: the RDS-managed master secret's ARN (`masterarn` in the connection secret).
    """

    address: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]


@dataclass(frozen=True)
class _SecretSpec:
    purpose: str  # a SecretPurposes value
    name_part: str  # what the secret is called after "secret-"
    description: str


_SPECS = (
    _SecretSpec(
        SecretPurposes.DATABASE_CONNECTION,
        "database-connection",
        "PostgreSQL connection as JSON: engine, host, port, username, password, dbname[, masterarn]",
    ),
    _SecretSpec(
        SecretPurposes.PAYMENT_PROVIDER_API_KEY, "payment-provider-api-key", "Payment provider API key"
    ),
    _SecretSpec(SecretPurposes.FRAUD_SCORING_API_KEY, "fraud-scoring-api-key", "Fraud-scoring API key"),
)


class PlatformSecrets(pulumi.ComponentResource):
    """The secrets by purpose (`secrets[SecretPurposes.X]`) and which of them rotation may manage."""

    def __init__(
        self, name: str, args: PlatformSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:PlatformSecrets", name, None, opts)
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        versions: dict[str, aws.secretsmanager.SecretVersion] = {}
        initial_values = {
            SecretPurposes.DATABASE_CONNECTION: self._database_connection(args),
            SecretPurposes.PAYMENT_PROVIDER_API_KEY: self._given_or_random(
                args, "payment-provider-api-key", args.payment_provider_api_key, API_KEY_LENGTH
            ),
            SecretPurposes.FRAUD_SCORING_API_KEY: self._given_or_random(
                args, "fraud-scoring-api-key", args.fraud_scoring_api_key, API_KEY_LENGTH
            ),
        }
        for spec in _SPECS:
            secret_name = args.namer.name(naming.SECRET_NAME, spec.name_part)
            secret = aws.secretsmanager.Secret(
                secret_name,
                name=secret_name,
                description=spec.description,
                kms_key_id=args.key_arn,
                recovery_window_in_days=0,  # destroy deletes at once, so a new stack can reuse the name
                tags=args.tags.for_resource(secret_name),
                opts=pulumi.ResourceOptions(parent=self),
            )
            versions[spec.purpose] = aws.secretsmanager.SecretVersion(
                f"{secret_name}-initial",
                secret_id=secret.id,
                secret_string=initial_values[spec.purpose],
                # Rotation replaces the value after creation; Pulumi must not put the seed back.
                opts=pulumi.ResourceOptions(parent=secret, ignore_changes=["secretString"]),
            )
            self.secrets[spec.purpose] = secret

        self.initial_versions = versions
        # Every secret rotates, the database connection included (managed or external alike).
        self.rotated = dict(self.secrets)
        self.arns = {purpose: secret.arn for purpose, secret in self.secrets.items()}
        self.register_outputs({"arns": self.arns})

    def _given_or_random(
        self, args: PlatformSecretsArgs, part: str, given: pulumi.Output[str] | None, length: int
    ) -> pulumi.Output[str]:
        if given is not None:
            return given
        generated = random.RandomPassword(
            f"{part}-seed",  # not an AWS resource: only a logical name, kept in the (encrypted) state
            length=length,
            special=False,  # letters and digits: safe in headers, URLs and connection strings
            opts=pulumi.ResourceOptions(parent=self),
        )
        result: pulumi.Output[str] = generated.result
        return result

    def _database_connection(self, args: PlatformSecretsArgs) -> pulumi.Output[str]:
        database, managed = args.database, args.managed_database
        # Managed: a generated password the bootstrap gives the application's role. External: the
        # role's current password from config (DatabaseConfig requires it).
        password = self._given_or_random(
            args,
            "database-password",
            database.password if managed is None else None,
            DATABASE_PASSWORD_LENGTH,
        )
        connection: dict[str, pulumi.Input[str | int]] = {
            "engine": "postgres",
            "host": managed.address if managed is not None else str(database.host),
            "port": database.port,
            "username": database.username,
            "password": password,
            "dbname": database.name,
        }
        if managed is not None:
            connection["masterarn"] = managed.master_secret_arn
        return pulumi.Output.json_dumps(connection)
