"""One service's blue/green traffic: two target groups and its production and test listeners.

CodeDeploy moves the listeners between the two target groups during a release, so Pulumi ignores the
listeners' default actions after creation (docs/releasing.md). Target groups are auto-named so a change that
replaces one creates the new group before the old, in-use one is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.catalogue import ServiceSpec
from shared.config.services import TargetHealthConfig
from shared.network_constants import HTTP_PORT, HTTPS_PORT
from shared.tags import ServiceTags

# TLS 1.3 preferred, TLS 1.2 for older clients, restricted forward-secret ciphers, hybrid post-quantum
# key exchange: the policy the ELB user guide recommends and the console's default ("Security policies
# for your Application Load Balancer",
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
CODEDEPLOY_OWNS = ["defaultActions"]
# A replaced target group is never attached: the listeners ignore their default actions and the service
# its load balancers, so the old group stays in use (ResourceInUse) and releases target a group no
# listener uses. So every argument that forces a replacement (terraform-provider-aws,
# internal/service/elbv2/target_group.go: ForceNew) is set here, from a constant, the catalogue (code,
# not config) or the network stack's VPC; none comes from config or a provider default.
TARGET_TYPE = "ip"  # awsvpc tasks register by IP
TARGET_PROTOCOL = "HTTP"
TARGET_PROTOCOL_VERSION = "HTTP1"  # ELB's default for HTTP groups, pinned so a default change cannot replace
TARGET_IP_ADDRESS_TYPE = "ipv4"


@dataclass(frozen=True)
class ListenerPlan:
    """Where a service is reached: ports and protocol of its production and test listeners."""

    production_port: int
    test_port: int
    protocol: str  # HTTP or HTTPS
    redirect_http: bool  # an extra port-80 listener answering 301 to HTTPS

    @classmethod
    def for_service(cls, spec: ServiceSpec, certificate_arn: str | None) -> ListenerPlan:
        # Only the public ALB terminates TLS: private Cloud Map names have no public certificate.
        if certificate_arn is None or spec.internal:
            return cls(spec.production_port, spec.test_port, "HTTP", redirect_http=False)
        return cls(HTTPS_PORT, spec.test_port, "HTTPS", redirect_http=spec.production_port == HTTP_PORT)


@dataclass(frozen=True, kw_only=True)
class BlueGreenTrafficArgs:
    """What one service's target groups and listeners are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        spec: the catalogue entry: ports, health check path, public or internal.
        vpc_id: the VPC of both target groups (a change replaces them).
        load_balancer_arn: the ALB the listeners belong to.
        certificate_arn: `certificateArn`; None serves plain HTTP (internal services always do).
        deregistration_delay_seconds: `deregistrationDelaySeconds` of both target groups.
        target_health: the health check settings (`healthCheck*` keys).
    """

    namer: naming.Namer
    tags: ServiceTags
    spec: ServiceSpec
    vpc_id: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    certificate_arn: str | None
    deregistration_delay_seconds: int
    target_health: TargetHealthConfig


class BlueGreenTraffic(pulumi.ComponentResource):
    """Blue and green `ip` target groups behind a production and a test listener."""

    def __init__(
        self, name: str, args: BlueGreenTrafficArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:BlueGreenTraffic", name, None, opts)
        spec = args.spec
        self.plan = ListenerPlan.for_service(spec, args.certificate_arn)
        self.blue = self._target_group(args, "blue")
        self.green = self._target_group(args, "green")

        self.production_listener = self._listener(args, "prod", self.plan.production_port)
        self.test_listener = self._listener(args, "test", self.plan.test_port)
        self.listeners = [self.production_listener, self.test_listener]
        if self.plan.redirect_http:
            redirect_name = args.namer.name(naming.LISTENER, spec.name, "redirect")
            self.listeners.append(
                aws.lb.Listener(
                    redirect_name,
                    load_balancer_arn=args.load_balancer_arn,
                    port=HTTP_PORT,
                    protocol="HTTP",
                    default_actions=[
                        aws.lb.ListenerDefaultActionArgs(
                            type="redirect",
                            redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                                port=str(HTTPS_PORT), protocol="HTTPS", status_code="HTTP_301"
                            ),
                        )
                    ],
                    tags=args.tags.for_resource(redirect_name),
                    # Port 80 is the production listener's until it moves to 443 when a certificate is
                    # added: creating this one first fails with DuplicateListener (ELB CreateListener).
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.production_listener]),
                )
            )

        self.register_outputs(
            {
                "blueTargetGroupName": self.blue.name,
                "greenTargetGroupName": self.green.name,
                "productionListenerArn": self.production_listener.arn,
                "testListenerArn": self.test_listener.arn,
            }
        )

    def _target_group(self, args: BlueGreenTrafficArgs, colour: str) -> aws.lb.TargetGroup:
        spec = args.spec
        # The logical name is the auto-name's stem: no `name`, so Pulumi appends 8 random characters.
        logical = args.namer.name(naming.TARGET_GROUP_NAME, spec.code, colour)
        return aws.lb.TargetGroup(
            logical,
            target_type=TARGET_TYPE,
            protocol=TARGET_PROTOCOL,
            protocol_version=TARGET_PROTOCOL_VERSION,
            port=spec.container_port,
            vpc_id=args.vpc_id,
            ip_address_type=TARGET_IP_ADDRESS_TYPE,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                path=spec.health_path,
                port="traffic-port",
                matcher="200",
                interval=args.target_health.interval_seconds,
                timeout=args.target_health.timeout_seconds,
                healthy_threshold=args.target_health.healthy_threshold,
                unhealthy_threshold=args.target_health.unhealthy_threshold,
            ),
            tags=args.tags.for_resource(logical),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _listener(self, args: BlueGreenTrafficArgs, role: str, port: int) -> aws.lb.Listener:
        name = args.namer.name(naming.LISTENER, args.spec.name, role)
        https = self.plan.protocol == "HTTPS"
        return aws.lb.Listener(
            name,
            load_balancer_arn=args.load_balancer_arn,
            port=port,
            protocol=self.plan.protocol,
            certificate_arn=args.certificate_arn if https else None,
            ssl_policy=TLS_POLICY if https else None,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.blue.arn)
            ],
            tags=args.tags.for_resource(name),
            opts=pulumi.ResourceOptions(
                parent=self,
                # CodeDeploy switches the forward target between blue and green on every release.
                ignore_changes=CODEDEPLOY_OWNS,
                # After an odd number of releases the listener forwards to green: it must go before
                # either group, or DeleteTargetGroup fails with ResourceInUse (the AWS provider retries
                # that for 2 minutes only: terraform-provider-aws, internal/service/elbv2/target_group.go).
                depends_on=[self.blue, self.green],
            ),
        )
