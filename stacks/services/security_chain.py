"""The security-group chain (docs/architecture.md), built from the catalogue's call graph.

internet -> public ALB (platform: 80/443 from allowed CIDRs) -> api-gateway tasks (container port) ->
internal ALB (payment-processor's listener ports, from api-gateway only) -> payment-processor tasks ->
internal ALB (fraud-detector's listener ports, from payment-processor only) -> fraud-detector tasks.

Task groups admit their container port only from their own ALB's group, and send only to the listener
ports of the services they call, 443 for AWS APIs, and the database port for services whose catalogue
secrets include the database connection (the platform's database group admits exactly those). Every
rule is its own resource, so rules added by another component (the release hooks) never fight an
inline list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.catalogue import ServiceSpec
from shared.contracts import SecretPurposes
from shared.network_constants import HTTPS_PORT
from shared.security_rules import (
    DeclaredEgress,
    EgressProxyRoute,
    https_to_aws_apis,
    tcp_egress,
    tcp_ingress,
    through_egress_proxy,
)
from shared.tags import ServiceTags


def callers_of(spec: ServiceSpec, catalogue: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """The services that call `spec`, in catalogue order."""
    return [caller for caller in catalogue if spec.name in caller.downstream]


@dataclass(frozen=True, kw_only=True)
class SecurityChainArgs:
    """What the chain of security groups is made from. No field has a default.

    Fields:
        namer: names every group with the stack's suffix.
        catalogue: the services; each gets a group, and its callers' rules follow its `calls`.
        vpc_id: the VPC of the groups.
        public_alb_security_group_id: the platform's public ALB group (the chain's first link).
        internal_alb_security_group_id: the platform's internal ALB group (gets one rule per port).
        database_security_group_id: the platform's database group (gets one rule per database client).
        database_port: the database's port (`databasePort` of the platform).
        declared_egress: `complianceProfile: pci`: HTTPS only to the VPC's interface endpoints and the
            S3 prefix list (PCI DSS 1.3.2). Default None: HTTPS to AWS's public endpoints through NAT.
        egress_proxy: `complianceProfile: pci`: the platform's egress proxy; each service that holds a
            third party's key (`ServiceSpec.third_party_client`) sends 3128 to its group only, and the
            group admits it. Default None: no proxy (baseline reaches third parties on 443 through NAT).
    """

    namer: naming.Namer
    catalogue: Sequence[ServiceSpec]
    vpc_id: pulumi.Input[str]
    public_alb_security_group_id: pulumi.Input[str]
    internal_alb_security_group_id: pulumi.Input[str]
    database_security_group_id: pulumi.Input[str]
    database_port: pulumi.Input[int]
    declared_egress: DeclaredEgress | None = None
    egress_proxy: EgressProxyRoute | None = None


def database_clients(catalogue: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """The services that read the database connection secret, in catalogue order."""
    return [spec for spec in catalogue if SecretPurposes.DATABASE_CONNECTION in spec.secrets.values()]


class SecurityChain(pulumi.ComponentResource):
    """One security group per service, and every rule that links them to the two ALBs."""

    def __init__(
        self, name: str, args: SecurityChainArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:SecurityChain", name, None, opts)
        self._args = args
        self.groups: dict[str, aws.ec2.SecurityGroup] = {}
        for spec in args.catalogue:
            group_name = args.namer.name(naming.SECURITY_GROUP_NAME, spec.name)
            self.groups[spec.name] = aws.ec2.SecurityGroup(
                group_name,
                name=group_name,
                description=f"{spec.name} tasks: container port from their load balancer only",
                vpc_id=args.vpc_id,
                tags=ServiceTags(spec.name).for_resource(group_name),
                opts=pulumi.ResourceOptions(parent=self),
            )
        by_name = {spec.name: spec for spec in args.catalogue}
        for spec in args.catalogue:
            self._task_rules(spec, [by_name[d] for d in spec.downstream])
            if spec.internal:
                self._internal_listener_rules(spec, callers_of(spec, args.catalogue))
        for client in database_clients(args.catalogue):
            self._database_rules(client)

        self.group_ids: Mapping[str, pulumi.Output[str]] = {n: g.id for n, g in self.groups.items()}
        self.register_outputs({"groupIds": dict(self.group_ids)})

    def _task_rules(self, spec: ServiceSpec, downstream: list[ServiceSpec]) -> None:
        args = self._args
        group = self.groups[spec.name]
        tags = ServiceTags(spec.name)
        alb_role, alb_group = (
            ("internal", args.internal_alb_security_group_id)
            if spec.internal
            else ("public", args.public_alb_security_group_id)
        )
        self._ingress(
            args.namer.name(
                naming.SECURITY_GROUP_NAME, spec.name, "in", str(spec.container_port), "alb", alb_role
            ),
            group,
            tags,
            port=spec.container_port,
            source=alb_group,
            description=f"Container port from the {alb_role} load balancer only",
        )
        for callee in downstream:
            self._egress(
                args.namer.name(
                    naming.SECURITY_GROUP_NAME, spec.name, "out", str(callee.production_port), callee.name
                ),
                group,
                tags,
                port=callee.production_port,
                destination=args.internal_alb_security_group_id,
                description=f"Calls {callee.name} through its internal listener",
            )
        https_to_aws_apis(
            args.namer,
            (spec.name, "out", str(HTTPS_PORT), "aws"),
            group_id=group.id,
            description="AWS APIs (ECR, Secrets Manager, CloudWatch Logs) through NAT or endpoints",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=group),
            declared=args.declared_egress,
        )
        if args.egress_proxy is not None and spec.third_party_client:
            through_egress_proxy(
                args.namer,
                spec.name,
                group_id=group.id,
                proxy=args.egress_proxy,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=group),
            )

    def _internal_listener_rules(self, spec: ServiceSpec, callers: list[ServiceSpec]) -> None:
        """The internal ALB admits each caller on the production listener of what it calls, only."""
        args = self._args
        for caller in callers:
            self._ingress(
                args.namer.name(
                    naming.SECURITY_GROUP_NAME,
                    "alb",
                    "internal",
                    "in",
                    str(spec.production_port),
                    caller.name,
                ),
                None,
                ServiceTags(spec.name),
                port=spec.production_port,
                source=self.groups[caller.name].id,
                description=f"{caller.name} calls {spec.name}",
                group_id=args.internal_alb_security_group_id,
            )

    def _database_rules(self, spec: ServiceSpec) -> None:
        """The client's tasks may reach the database port, and the database's group admits them."""
        args = self._args
        tags = ServiceTags(spec.name)
        self._egress(
            args.namer.name(naming.SECURITY_GROUP_NAME, spec.name, "out", "database"),
            self.groups[spec.name],
            tags,
            port=args.database_port,
            destination=args.database_security_group_id,
            description="PostgreSQL (the platform's database)",
        )
        self._ingress(
            args.namer.name(naming.SECURITY_GROUP_NAME, "database", "in", spec.name),
            None,
            tags,
            port=args.database_port,
            source=self.groups[spec.name].id,
            description=f"{spec.name} tasks",
            group_id=args.database_security_group_id,
        )

    def _ingress(
        self,
        name: str,
        group: aws.ec2.SecurityGroup | None,
        tags: ServiceTags,
        *,
        port: pulumi.Input[int],
        source: pulumi.Input[str],
        description: str,
        group_id: pulumi.Input[str] | None = None,
    ) -> None:
        target = group.id if group is not None else group_id
        if target is None:
            raise ValueError(f"{name}: give the group or its id")
        tcp_ingress(
            name,
            group_id=target,
            port=port,
            from_group=source,
            description=description,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=group or self),
        )

    def _egress(
        self,
        name: str,
        group: aws.ec2.SecurityGroup,
        tags: ServiceTags,
        *,
        port: pulumi.Input[int],
        description: str,
        destination: pulumi.Input[str] | None = None,
        cidr: str | None = None,
    ) -> None:
        tcp_egress(
            name,
            group_id=group.id,
            port=port,
            to_group=destination,
            to_cidr=cidr,
            description=description,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=group),
        )
