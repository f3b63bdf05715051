"""AWS Backup for the managed database under `complianceProfile: pci` (Security Hub RDS.26).

A vault encrypted with the platform key, a daily plan, and a selection naming the DB instance. AWS
Backup's RDS snapshots sit beside the instance's own automated backups (databaseBackupRetentionDays),
outlive a deleted instance, and are listed in one place for an assessor (PCI DSS v4.0.1 12.10.1's
recovery procedures rest on them).

Destroy: the vault is created with `force_destroy`, so the provider deletes its recovery points
before the vault (pulumi-aws `backup.Vault.force_destroy`: "Whether to delete all recovery points
stored in the vault so that the vault can be destroyed without error"); the final snapshot of the
instance (`final_snapshot_identifier`) is what destroy leaves behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags

BACKUP_SERVICE: Final = "backup.amazonaws.com"
# The AWS managed policy AWS Backup's default service role carries (AWS Backup developer guide,
# "Managed policies for AWS Backup"): snapshots of RDS, copying and tagging them.
BACKUP_POLICY: Final = "AWSBackupServiceRolePolicyForBackup"
SCHEDULE: Final = "cron(0 5 ? * * *)"  # daily at 05:00 UTC, outside the automated backup window
RECOVERY_POINT_DAYS: Final = 35  # as long as RDS's longest automated backup retention


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupArgs:
    """What the database's AWS Backup plan is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account (the role's trust) and partition (the managed policy's ARN).
        key_arn: the platform KMS key: the vault's encryption.
        instance_arn: the DB instance to back up.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    key_arn: pulumi.Input[str]
    instance_arn: pulumi.Input[str]


class DatabaseBackup(pulumi.ComponentResource):
    """Vault, plan, selection, and the role AWS Backup uses."""

    def __init__(
        self, name: str, args: DatabaseBackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:DatabaseBackup", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        vault_name = names.name(naming.BACKUP_VAULT, "ledger")
        self.vault = aws.backup.Vault(
            vault_name,
            name=vault_name,
            kms_key_arn=args.key_arn,
            force_destroy=True,  # destroy deletes the recovery points, then the vault
            tags=args.tags.for_resource(vault_name),
            opts=child,
        )
        plan_name = names.name(naming.BACKUP_PLAN, "ledger")
        self.plan = aws.backup.Plan(
            plan_name,
            name=plan_name,
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=SCHEDULE,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=RECOVERY_POINT_DAYS),
                )
            ],
            tags=args.tags.for_resource(plan_name),
            opts=child,
        )
        self.role = self._role(args)
        selection_name = names.name(naming.BACKUP_SELECTION, "ledger")
        self.selection = aws.backup.Selection(
            selection_name,
            name=selection_name,
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=[args.instance_arn],
            opts=pulumi.ResourceOptions(parent=self.plan, depends_on=[self.role_policy]),
        )
        self.vault_name = self.vault.name
        self.plan_id = self.plan.id
        self.register_outputs({"vaultName": self.vault_name, "planId": self.plan_id})

    def _role(self, args: DatabaseBackupArgs) -> aws.iam.Role:
        """The only role of this component: AWS Backup's, with its managed policy."""
        role_name = args.namer.name(naming.ROLE, "backup")
        role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=aws.iam.get_policy_document_output(
                statements=[policies.service_trust(BACKUP_SERVICE, args.context.account_id)],
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).json,
            description="AWS Backup snapshots the ledger database",
            permissions_boundary=role_boundary_arn(args.context),
            tags=args.tags.for_resource(role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_policy = aws.iam.RolePolicyAttachment(
            args.namer.name(naming.POLICY_ATTACHMENT, "backup"),
            role=role.name,
            policy_arn=f"arn:{args.context.partition}:iam::aws:policy/service-role/{BACKUP_POLICY}",
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role
