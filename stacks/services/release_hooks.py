"""The two Lambda functions every release's AppSpec names (`functions/release_hooks`), and who may run them.

- BeforeInstall, the scan gate: reads the deployment's task definition and the images' ECR scans.
- AfterAllowTestTraffic, the smoke test: calls the green task set through each test listener. It runs
  in the private subnets with its own security group. The internal ALB admits that group on the
  internal test ports. The public ALB admits the NAT gateways' addresses on the public test port,
  through a managed prefix list: the smoke test reaches the public ALB the way the internet does.

Each function has its own role, an encrypted log group with retention, X-Ray tracing and reserved
concurrency. No resource policy lets anyone invoke them. CodeDeploy's managed ECS policy allows
`lambda:InvokeFunction` on every function in the account, so the CodeDeploy role gets an explicit
deny on every function except these two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.packaging import function_archive
from shared import naming, policies
from shared.aws_context import AwsContext
from shared.catalogue import ServiceSpec
from shared.config.services import ReleaseConfig
from shared.network_constants import ANYWHERE, HTTPS_PORT
from shared.security_rules import DeclaredEgress, https_to_aws_apis, tcp_egress, tcp_ingress
from shared.tags import ServiceTags
from stacks.hardened_lambda import HardenedFunctionArgs, LambdaVpc, hardened_function
from stacks.services.traffic import ListenerPlan

FUNCTION_PACKAGE = "release_hooks"
MEMORY_MB = 256
SCAN_POLL_SECONDS = 10
REPORT_MARGIN_SECONDS = 60  # the gate's timeout beyond its scan wait, to read and to report
NAT_PREFIX_LIST_MAX_ENTRIES = 6  # one per NAT gateway; a reference counts this many SG rules
BEFORE_INSTALL = "BeforeInstall"
AFTER_ALLOW_TEST_TRAFFIC = "AfterAllowTestTraffic"


@dataclass(frozen=True)
class HookTarget:
    """One service as the hooks see it."""

    spec: ServiceSpec
    plan: ListenerPlan
    load_balancer_dns_name: pulumi.Input[str]
    deployment_group_name: pulumi.Input[str]
    repository_arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class ReleaseHooksArgs:
    """What the two release hooks are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        context: the account, region and partition; role trust, network-interface permissions and
            the deployment group ARNs are built from them.
        release: the `release*` keys: scan gate severity and wait, smoke-test settings.
        log_retention_days: `logRetentionDays` of both functions' log groups.
        key_arn: the platform KMS key: log groups and environment variables.
        vpc_id: the VPC of the smoke test's security group.
        private_subnet_ids: the smoke test's network interfaces, one per subnet.
        nat_public_ips: the NAT gateways' addresses the public ALB admits on its test port.
        public_alb_security_group_id: the public ALB's group.
        internal_alb_security_group_id: the internal ALB's group (admits the smoke test on test ports).
        application_name: the CodeDeploy application the hooks report to.
        codedeploy_role_name: CodeDeploy's role; it gets a deny on every other function.
        targets: service name -> what the hooks need of that service.
        declared_egress: `complianceProfile: pci`: HTTPS only to the VPC's interface endpoints and the
            S3 prefix list. Default None: HTTPS to AWS's public endpoints through NAT.
    """

    namer: naming.Namer
    context: AwsContext
    release: ReleaseConfig
    log_retention_days: int
    key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    nat_public_ips: pulumi.Input[list[str]]
    public_alb_security_group_id: pulumi.Input[str]
    internal_alb_security_group_id: pulumi.Input[str]
    application_name: pulumi.Input[str]
    codedeploy_role_name: pulumi.Input[str]
    targets: Mapping[str, HookTarget]
    declared_egress: DeclaredEgress | None = None


class ReleaseHooks(pulumi.ComponentResource):
    def __init__(self, name: str, args: ReleaseHooksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:services:ReleaseHooks", name, None, opts)
        self.log_group_names: dict[str, pulumi.Output[str]] = {}  # function purpose -> its log group
        self._args = args
        self._tags = ServiceTags("services")
        self._invoke = pulumi.InvokeOutputOptions(parent=self)
        group_arns = [self._deployment_group_arn(t.deployment_group_name) for t in args.targets.values()]

        self.security_group = self._smoke_test_network()
        release = args.release
        self.scan_gate = self._function(
            "scan-gate",
            handler="scan_gate.handler",
            description="BeforeInstall: fails a release whose images lack a clean ECR scan",
            timeout=release.scan_wait_seconds + REPORT_MARGIN_SECONDS,
            environment={
                "SEVERITY_THRESHOLD": release.scan_severity_threshold,
                "SCAN_WAIT_SECONDS": str(release.scan_wait_seconds),
                "SCAN_POLL_SECONDS": str(SCAN_POLL_SECONDS),
            },
            statements=[
                *self._hook_statements(group_arns),
                {
                    # DescribeTaskDefinition has no resource type (Service Authorization Reference).
                    "sid": "ReadTheReleasedTaskDefinition",
                    "effect": "Allow",
                    "actions": ["ecs:DescribeTaskDefinition"],
                    "resources": ["*"],
                },
                {
                    # DescribeImages and BatchGetImage read an image index to find the platform image
                    # ECR scanned (functions/release_hooks/image_index.py).
                    "sid": "ReadScansOfTheseRepositories",
                    "effect": "Allow",
                    "actions": ["ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages"],
                    "resources": [t.repository_arn for t in args.targets.values()],
                },
                policies.lambda_network_interfaces(
                    args.context.partition, args.context.region, args.context.account_id
                ),
            ],
            # In the VPC at no extra cost: it reuses the hooks' security group (443 out to AWS APIs)
            # and the NAT gateways the tasks already pay for.
            in_vpc=True,
        )
        self.smoke_test = self._function(
            "smoke-test",
            handler="smoke_test.handler",
            description="AfterAllowTestTraffic: calls the green task set through the test listener",
            # Two requests, each bounded by the timeout, and the CodeDeploy calls around them.
            timeout=2 * release.smoke_timeout_seconds + 20,
            environment={
                "TEST_ENDPOINTS": self._test_endpoints(),
                "REQUEST_TIMEOUT_SECONDS": str(release.smoke_timeout_seconds),
            },
            statements=[
                *self._hook_statements(group_arns),
                policies.lambda_network_interfaces(
                    args.context.partition, args.context.region, args.context.account_id
                ),
            ],
            in_vpc=True,
        )
        self._only_these_for_codedeploy()

        self.function_arns: dict[str, pulumi.Output[str]] = {
            BEFORE_INSTALL: self.scan_gate.arn,
            AFTER_ALLOW_TEST_TRAFFIC: self.smoke_test.arn,
        }
        self.function_names: dict[str, pulumi.Output[str]] = {
            "scan-gate": self.scan_gate.name,
            "smoke-test": self.smoke_test.name,
        }
        self.register_outputs({"functionArns": self.function_arns, "securityGroupId": self.security_group.id})

    # --- functions -----------------------------------------------------------------------------

    def _function(
        self,
        purpose: str,
        *,
        handler: str,
        description: str,
        timeout: int,
        environment: Mapping[str, pulumi.Input[str]],
        statements: list[policies.Statement],
        in_vpc: bool = False,
    ) -> aws.lambda_.Function:
        args = self._args
        vpc = None
        if in_vpc:
            vpc = LambdaVpc(subnet_ids=args.private_subnet_ids, security_group_ids=[self.security_group.id])
        built = hardened_function(
            HardenedFunctionArgs(
                namer=args.namer,
                tags=self._tags,
                context=args.context,
                purpose=purpose,
                description=description,
                code=function_archive(FUNCTION_PACKAGE),  # boto3 ships with the runtime
                handler=f"{FUNCTION_PACKAGE}.{handler}",
                timeout_seconds=timeout,
                memory_mb=MEMORY_MB,
                reserved_concurrency=args.release.hook_reserved_concurrency,
                log_retention_days=args.log_retention_days,
                key_arn=args.key_arn,
                environment=environment,
                role_statements=lambda own_logs: [*statements, own_logs],
                vpc=vpc,
            ),
            parent=self,
        )
        self.log_group_names[purpose] = built.log_group.name
        return built.function

    def _hook_statements(self, group_arns: list[pulumi.Output[str]]) -> list[policies.Statement]:
        return [
            {
                "sid": "ReadDeploymentsOfTheseGroups",
                "effect": "Allow",
                "actions": ["codedeploy:GetDeployment"],
                "resources": group_arns,
            },
            {
                # No resource type: the call is authorised by the hook execution id it carries.
                "sid": "ReportTheHookVerdict",
                "effect": "Allow",
                "actions": ["codedeploy:PutLifecycleEventHookExecutionStatus"],
                "resources": ["*"],
            },
        ]

    def _deployment_group_arn(self, group_name: pulumi.Input[str]) -> pulumi.Output[str]:
        args = self._args
        return pulumi.Output.concat(
            "arn:", args.context.partition, ":codedeploy:", args.context.region, ":", args.context.account_id,
            ":deploymentgroup:", args.application_name, "/", group_name,
        )  # fmt: skip

    def _test_endpoints(self) -> pulumi.Output[str]:
        """TEST_ENDPOINTS: deployment group -> the service's test listener and smoke request."""
        entries = [_test_endpoint(target) for target in self._args.targets.values()]
        return pulumi.Output.all(*entries).apply(lambda pairs: json.dumps(dict(pairs), sort_keys=True))

    # --- who may invoke ------------------------------------------------------------------------

    def _only_these_for_codedeploy(self) -> None:
        names = self._args.namer
        arns = [self.scan_gate.arn, self.smoke_test.arn]
        document = aws.iam.get_policy_document_output(
            statements=[
                {
                    "sid": "InvokeOnlyTheReleaseHooks",
                    "effect": "Deny",
                    "actions": ["lambda:InvokeFunction"],
                    # The functions and their versions or aliases; everything else is denied.
                    "notResources": [*arns, *[arn.apply(lambda a: f"{a}:*") for arn in arns]],
                }
            ],
            opts=self._invoke,
        )
        aws.iam.RolePolicy(
            names.name(naming.POLICY, "codedeploy", "hooks-only"),
            role=self._args.codedeploy_role_name,
            policy=document.json,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # --- network -------------------------------------------------------------------------------

    def _smoke_test_network(self) -> aws.ec2.SecurityGroup:
        args, names, tags = self._args, self._args.namer, self._tags
        group_name = names.name(naming.SECURITY_GROUP_NAME, "smoke-test")
        group = aws.ec2.SecurityGroup(
            group_name,
            name=group_name,
            description="Release hooks (scan gate, smoke test): no ingress; out to test listeners, AWS APIs",
            vpc_id=args.vpc_id,
            tags=tags.for_resource(group_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_group, in_self = pulumi.ResourceOptions(parent=group), pulumi.ResourceOptions(parent=self)
        https_to_aws_apis(
            names,
            ("smoke-test", "out", str(HTTPS_PORT), "aws"),
            group_id=group.id,
            description="CodeDeploy, ECS and ECR APIs (through the NAT gateway)",
            tags=tags,
            opts=in_group,
            declared=args.declared_egress,
        )
        nat_list: aws.ec2.ManagedPrefixList | None = None
        for target in args.targets.values():
            port, service = target.plan.test_port, target.spec.name
            out_name = names.name(naming.SECURITY_GROUP_NAME, "smoke-test", "out", str(port), service)
            balancer = "internal" if target.spec.internal else "public"
            in_name = names.name(naming.SECURITY_GROUP_NAME, "alb", balancer, "in", str(port), "smoke-test")
            if target.spec.internal:
                tcp_egress(
                    out_name,
                    group_id=group.id,
                    port=port,
                    to_group=args.internal_alb_security_group_id,
                    description=f"{service}'s test listener on the internal ALB",
                    tags=tags,
                    opts=in_group,
                )
                tcp_ingress(
                    in_name,
                    group_id=args.internal_alb_security_group_id,
                    port=port,
                    from_group=group.id,
                    description=f"The release smoke test calls {service}'s green tasks",
                    tags=tags,
                    opts=in_self,
                )
                continue
            # The public ALB resolves to public addresses: the call leaves through the NAT gateways.
            tcp_egress(
                out_name,
                group_id=group.id,
                port=port,
                to_cidr=ANYWHERE,
                description=f"{service}'s test listener on the public ALB, through NAT",
                tags=tags,
                opts=in_group,
            )
            nat_list = nat_list or self._nat_prefix_list()
            tcp_ingress(
                in_name,
                group_id=args.public_alb_security_group_id,
                port=port,
                from_prefix_list=nat_list.id,
                description=f"The release smoke test calls {service}'s green tasks, from the NAT addresses",
                tags=tags,
                opts=in_self,
            )
        return group

    def _nat_prefix_list(self) -> aws.ec2.ManagedPrefixList:
        """The NAT gateways' addresses; a list, since their number is the network layer's choice."""
        args, names = self._args, self._args.namer
        list_name = names.name(naming.PREFIX_LIST_NAME, "nat")
        entries = pulumi.Output.from_input(args.nat_public_ips).apply(
            lambda ips: [
                aws.ec2.ManagedPrefixListEntryArgs(cidr=f"{ip}/32", description="NAT gateway") for ip in ips
            ]
        )
        return aws.ec2.ManagedPrefixList(
            list_name,
            name=list_name,
            address_family="IPv4",
            max_entries=NAT_PREFIX_LIST_MAX_ENTRIES,
            entries=entries,
            tags=self._tags.for_resource(list_name),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _test_endpoint(target: HookTarget) -> pulumi.Output[tuple[str, dict[str, object]]]:
    """(deployment group, its TEST_ENDPOINTS entry) for one service."""
    scheme = target.plan.protocol.lower()
    url = pulumi.Output.concat(scheme, "://", target.load_balancer_dns_name, ":", str(target.plan.test_port))
    # The certificate names the service's domain, not the ALB's DNS name: the chain is still checked.
    verify_hostname = scheme != "https"

    def entry(pair: list[str]) -> tuple[str, dict[str, object]]:
        return pair[0], target.spec.smoke_endpoint(pair[1], verify_hostname=verify_hostname)

    return pulumi.Output.all(target.deployment_group_name, url).apply(entry)
