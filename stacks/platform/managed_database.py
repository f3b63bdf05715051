"""The managed PostgreSQL of `database: managed`: one RDS for PostgreSQL DB instance (docs/database.md).

Private (its own DB subnet group on the network layer's private subnets, never publicly accessible),
storage and master secret encrypted with the platform key, TLS forced by its parameter group, logs in
encrypted log groups the stack owns, automated backups, and destroyable: no deletion protection, and a
final snapshot only when `databaseSkipFinalSnapshot` is false.

The master password is managed by RDS in Secrets Manager (`manage_master_user_password`): the project
never sees it; only the rotation function reads it, to create and rotate the application's own roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.config.platform import ManagedDatabaseConfig
from shared.log_groups import encrypted_log_group
from shared.tags import ServiceTags

ENGINE: Final = "postgres"
# The parameter group family of RDS for PostgreSQL <major> is "postgres<major>" (RDS user guide,
# "Working with parameter groups"; `aws rds describe-db-engine-versions --engine postgres`).
FAMILY_PREFIX: Final = "postgres"
# rds.force_ssl=1 refuses connections without TLS (RDS user guide, "Using SSL with a PostgreSQL DB
# instance", "Requiring an SSL connection"). It is a dynamic parameter: "immediate" needs no reboot.
FORCE_SSL: Final = ("rds.force_ssl", "1", "immediate")
# The log types RDS for PostgreSQL exports (RDS user guide, "Publishing PostgreSQL logs to Amazon
# CloudWatch Logs": postgresql and upgrade).
LOG_EXPORTS: Final[tuple[Literal["postgresql", "upgrade"], ...]] = ("postgresql", "upgrade")
# complianceProfile pci: database audit logging (PCI DSS v4.0.1 10.2.1.x), written to the postgresql log
# that LOG_EXPORTS already sends to CloudWatch Logs (RDS user guide, "Using pgAudit to log database
# activity"). pgaudit is a preloaded library, hence a static parameter (applied at the first boot,
# "pending-reboot" afterwards); RDS's own default for shared_preload_libraries is pg_stat_statements,
# kept. pgaudit.log: DDL, role changes (GRANT, CREATE/ALTER ROLE: the rotation's password changes) and
# writes (INSERT, UPDATE, DELETE, TRUNCATE, COPY into a table: every change to the ledger); reads are
# not logged, nor statement parameters (pgaudit.log_parameter stays off), so no payment value is
# copied into the logs. Connections and disconnections: PostgreSQL's own log_connections and
# log_disconnections (PostgreSQL 16 documentation, "Error Reporting and Logging").
AUDIT_PARAMETERS: Final = (
    ("shared_preload_libraries", "pg_stat_statements,pgaudit", "pending-reboot"),
    ("pgaudit.log", "ddl,role,write", "immediate"),
    ("pgaudit.log_catalog", "0", "immediate"),  # not the catalog queries psql and drivers make
    ("pgaudit.log_relation", "1", "immediate"),  # one line per table a statement touches
    ("log_connections", "1", "immediate"),
    ("log_disconnections", "1", "immediate"),
)
STORAGE_TYPE: Final = "gp3"
# The master login. The application never uses it: the bootstrap creates its own least-privilege roles.
MASTER_USERNAME: Final = "payments_master"
# Performance Insights' free tier keeps 7 days (RDS user guide, "Configuring retention for Performance
# Insights"); Database Insights' standard mode is the free one (CloudWatch user guide, "Database Insights").
INSIGHTS_RETENTION_DAYS: Final = 7
DATABASE_INSIGHTS_MODE: Final = "standard"


def parameter_family(engine_major: str) -> str:
    return f"{FAMILY_PREFIX}{engine_major}"


def database_security_group(
    namer: naming.Namer, tags: ServiceTags, vpc_id: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.ec2.SecurityGroup:
    """The database's own group: no rules of its own. Each client adds its ingress rule on it
    (the rotation function in this layer, the services' tasks in theirs); it has no egress at all."""
    name = namer.name(naming.SECURITY_GROUP_NAME, "database")
    return aws.ec2.SecurityGroup(
        name,
        name=name,
        description="PostgreSQL: the database port from the rotation function and database clients only",
        vpc_id=vpc_id,
        tags=tags.for_resource(name),
        opts=opts,
    )


@dataclass(frozen=True, kw_only=True)
class ManagedDatabaseArgs:
    """What the RDS instance is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        config: the `database*` keys of the managed instance (class, version, storage, Multi-AZ,
            backups, final snapshot).
        database_name: `databaseName`, the database RDS creates.
        port: `databasePort`.
        key_arn: the platform KMS key: storage, master secret, Performance Insights and log groups.
        key_deletion_window_days: `kmsDeletionWindowDays` of that key: how long a final snapshot stays
            restorable after destroy (the same destroy schedules the key's deletion).
        private_subnet_ids: the network layer's private subnets, one per zone (the DB subnet group).
        security_group_id: the database's own group (`database_security_group`).
        log_retention_days: `logRetentionDays` of the exported logs.
        audit: `complianceProfile: pci`: pgaudit and connection logging (AUDIT_PARAMETERS). Default off.
    """

    namer: naming.Namer
    tags: ServiceTags
    config: ManagedDatabaseConfig
    database_name: str
    port: int
    key_arn: pulumi.Input[str]
    key_deletion_window_days: int
    private_subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    log_retention_days: int
    audit: bool = False


class ManagedDatabase(pulumi.ComponentResource):
    """The DB instance, its subnet group, parameter group and log groups."""

    def __init__(
        self, name: str, args: ManagedDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:ManagedDatabase", name, None, opts)
        names, config = args.namer, args.config
        child = pulumi.ResourceOptions(parent=self)
        identifier = names.name(naming.RDS_INSTANCE, "ledger")

        subnet_group_name = names.name(naming.RDS_SUBNET_GROUP_NAME, "ledger")
        self.subnet_group = aws.rds.SubnetGroup(
            subnet_group_name,
            name=subnet_group_name,
            description=f"Private subnets of {identifier}",
            subnet_ids=args.private_subnet_ids,
            tags=args.tags.for_resource(subnet_group_name),
            opts=child,
        )
        parameters_name = names.name(naming.RDS_PARAMETER_GROUP_NAME, "ledger")
        parameters = (FORCE_SSL, *AUDIT_PARAMETERS) if args.audit else (FORCE_SSL,)
        self.parameter_group = aws.rds.ParameterGroup(
            parameters_name,
            name=parameters_name,
            family=parameter_family(config.engine_major),
            description=f"Parameters of {identifier}: TLS required" + (", pgaudit" if args.audit else ""),
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=parameter, value=value, apply_method=apply_method)
                for parameter, value, apply_method in parameters
            ],
            tags=args.tags.for_resource(parameters_name),
            opts=child,
        )
        # RDS writes into /aws/rds/instance/<identifier>/<log> (RDS user guide, "Publishing MySQL logs
        # to Amazon CloudWatch Logs" shows the path; the PostgreSQL page the same) and creates the group
        # only if it is missing, as terraform-aws-modules/terraform-aws-rds relies on
        # (modules/db_instance/main.tf, aws_cloudwatch_log_group.this). Created first, the groups are
        # encrypted, retained and destroyed with the stack.
        self.log_groups = [
            encrypted_log_group(
                names.name(naming.RDS_LOG_GROUP, "ledger", log),
                retention_days=args.log_retention_days,
                key_arn=args.key_arn,
                tags=args.tags,
                opts=child,
            )
            for log in LOG_EXPORTS
        ]
        keep_snapshot = not config.skip_final_snapshot
        final_snapshot = names.name(naming.RDS_FINAL_SNAPSHOT, "ledger")
        if keep_snapshot:
            pulumi.log.warn(
                final_snapshot_warning(final_snapshot, args.key_deletion_window_days), resource=self
            )
        self.instance = aws.rds.Instance(
            identifier,
            identifier=identifier,
            engine=ENGINE,
            engine_version=config.engine_version,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            instance_class=config.instance_class,
            allocated_storage=config.allocated_storage_gb,
            max_allocated_storage=config.max_allocated_storage_gb,
            storage_type=STORAGE_TYPE,
            storage_encrypted=True,
            kms_key_id=args.key_arn,
            db_name=args.database_name,
            port=args.port,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.key_arn,
            db_subnet_group_name=self.subnet_group.name,
            parameter_group_name=self.parameter_group.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            multi_az=config.multi_az,
            backup_retention_period=config.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=True,
            deletion_protection=False,
            skip_final_snapshot=config.skip_final_snapshot,
            final_snapshot_identifier=final_snapshot if keep_snapshot else None,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.key_arn,
            performance_insights_retention_period=INSIGHTS_RETENTION_DAYS,
            database_insights_mode=DATABASE_INSIGHTS_MODE,
            tags=args.tags.for_resource(identifier),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.log_groups),
        )

        self.identifier = self.instance.identifier
        self.address = self.instance.address  # the host name, without the port
        self.port = self.instance.port
        self.master_secret_arn: pulumi.Output[str] = self.instance.master_user_secrets.apply(
            _master_secret_arn
        )
        self.register_outputs(
            {
                "identifier": self.identifier,
                "address": self.address,
                "masterSecretArn": self.master_secret_arn,
            }
        )


def final_snapshot_warning(snapshot: str, key_deletion_window_days: int) -> str:
    """What `databaseSkipFinalSnapshot: false` really keeps, said at every `up` and preview.

    The final snapshot is encrypted with the instance's key, the platform key (RDS user guide,
    "Encrypting Amazon RDS resources": an encrypted instance's snapshots are encrypted with its key;
    "Copying a DB snapshot": a copy may take another key), and the same destroy schedules that key for
    deletion; data under a deleted key cannot be decrypted (KMS developer guide, "Deleting AWS KMS
    keys"). `delete_automated_backups` removes the point-in-time backups with the instance.
    """
    return (
        f"databaseSkipFinalSnapshot is false: destroy keeps the final snapshot {snapshot}, but it is "
        "encrypted with the platform KMS key, which the same destroy schedules for deletion "
        f"(kmsDeletionWindowDays: {key_deletion_window_days} days); after that the snapshot can never be "
        "restored, and the automated backups (point-in-time recovery) are deleted with the instance. "
        f"Before the key's deletion date run `aws rds copy-db-snapshot --source-db-snapshot-identifier "
        f"{snapshot} --target-db-snapshot-identifier <new name> --kms-key-id <a key that outlives the "
        "stack>`, or cancel the deletion with `aws kms cancel-key-deletion --key-id <platform key>` "
        "(docs/database.md, 'Destroy and durations')"
    )


def _master_secret_arn(secrets: list[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    """The ARN of the secret RDS keeps the master credentials in (one per instance)."""
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("the DB instance has no RDS-managed master secret (manage_master_user_password)")
    arn: str = secrets[0].secret_arn
    return arn
