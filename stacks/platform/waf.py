"""AWS WAF in front of the public load balancer: a REGIONAL web ACL, its association and its logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.config.platform import WafConfig
from shared.log_groups import encrypted_log_group
from shared.tags import ServiceTags
from stacks.platform.waf_rules import DATA_PROTECTIONS, LOG_REDACTED_FIELDS, web_acl_rules

# CloudWatch Logs' service principal for vended logs such as WAF's ("Enable logging from AWS
# services", CloudWatch Logs user guide).
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class WebApplicationFirewallArgs:
    """A web ACL on one load balancer, logging to an encrypted log group.

    namer, tags: the stack's naming and the `Service` tag of every child.
    waf: rule groups, count-mode overrides, rate limit and log retention (`WafConfig`, `waf*` keys).
    load_balancer_arn: the internet-facing ALB the web ACL protects.
    key_arn: the KMS key of the log group; its policy must admit CloudWatch Logs for `aws-waf-logs-*`.
    context: the account, region and partition log delivery may come from (the resource policy's
        conditions).
    No field has a default.
    """

    namer: naming.Namer
    tags: ServiceTags
    waf: WafConfig
    load_balancer_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    context: AwsContext


class WebApplicationFirewall(pulumi.ComponentResource):
    """Managed rule groups and a per-IP rate limit, metrics per rule, logs without credentials."""

    def __init__(
        self, name: str, args: WebApplicationFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:WebApplicationFirewall", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        acl_name = names.name(naming.WEB_ACL, "public")
        self.metric_name = names.name(naming.WAF_METRIC_NAME, "public")
        self.web_acl = aws.wafv2.WebAcl(
            acl_name,
            name=acl_name,
            description="Public payment API: AWS managed rule groups and a per-IP rate limit",
            scope="REGIONAL",  # an ALB, not CloudFront
            default_action={"allow": {}},
            rules=web_acl_rules(names, args.waf),
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": self.metric_name,
                "sampled_requests_enabled": True,
            },
            data_protection_config={"data_protections": DATA_PROTECTIONS},
            tags=args.tags.for_resource(acl_name),
            opts=child,
        )
        in_acl = pulumi.ResourceOptions(parent=self.web_acl)
        self.association = aws.wafv2.WebAclAssociation(
            names.name(naming.POLICY_ATTACHMENT, "waf", "public-alb"),
            resource_arn=args.load_balancer_arn,
            web_acl_arn=self.web_acl.arn,
            opts=in_acl,
        )

        self.log_group = encrypted_log_group(
            names.name(naming.WAF_LOG_GROUP, "public"),
            retention_days=args.waf.log_retention_days,
            key_arn=args.key_arn,
            tags=args.tags,
            opts=child,
        )
        # Our own resource policy for this one log group: left to itself WAF writes an account-wide
        # "AWSWAF-LOGS" policy that `destroy` would leave behind (provider docs for
        # aws_wafv2_web_acl_logging_configuration, and the CloudWatch Logs vended-logs permissions).
        delivery = aws.iam.get_policy_document_output(
            statements=[
                {
                    "sid": "WafLogDeliveryWritesThisLogGroup",
                    "effect": "Allow",
                    "principals": [{"type": "Service", "identifiers": [LOG_DELIVERY_SERVICE]}],
                    "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "resources": [self.log_group.arn.apply(lambda arn: f"{arn}:*")],
                    "conditions": [
                        {
                            "test": "ArnLike",
                            "variable": "aws:SourceArn",
                            "values": [
                                f"arn:{args.context.partition}:logs:{args.context.region}:{args.context.account_id}:*",
                            ],
                        },
                        {
                            "test": "StringEquals",
                            "variable": "aws:SourceAccount",
                            "values": [args.context.account_id],
                        },
                    ],
                }
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # Attached to the log group itself (resource_arn), not account-wide: an account holds at most 10
        # account-level resource policies per region (CloudWatch Logs PutResourcePolicy), one per stack
        # would run out, and the policy goes with the log group on destroy.
        self.log_policy = aws.cloudwatch.LogResourcePolicy(
            names.name(naming.LOG_RESOURCE_POLICY, "waf"),
            resource_arn=self.log_group.arn,
            policy_document=delivery.json,
            opts=pulumi.ResourceOptions(parent=self.log_group),
        )
        self.logging = aws.wafv2.WebAclLoggingConfiguration(
            names.name(naming.POLICY_ATTACHMENT, "waf", "logging"),
            resource_arn=self.web_acl.arn,
            # The log group ARN without ":*", as the provider reports it and WAF requires.
            log_destination_configs=[self.log_group.arn],
            redacted_fields=LOG_REDACTED_FIELDS,
            # Delivery checks the resource policy when logging is switched on.
            opts=pulumi.ResourceOptions(parent=self.web_acl, depends_on=[self.log_policy]),
        )

        self.web_acl_arn = self.web_acl.arn
        self.web_acl_name = self.web_acl.name
        self.log_group_name = self.log_group.name
        self.register_outputs(
            {
                "webAclArn": self.web_acl_arn,
                "webAclName": self.web_acl_name,
                "metricName": self.metric_name,
                "logGroupName": self.log_group_name,
            }
        )
