"""The public web ACL's rules as data: AWS managed rule groups, then a rate limit per client IP.

Kept apart from the component so the tests can check the very structures Pulumi receives against
botocore's wafv2 model (`tests/platform/test_platform_waf.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared import naming
from shared.config.platform import WAF_RATE_LIMIT_RULE, WafConfig

AWS_VENDOR = "AWS"


@dataclass(frozen=True, kw_only=True)
class ManagedRuleGroup:
    """One AWS managed rule group.

    aws_name: its name in AWS ("AWS Managed Rules rule groups list", WAF developer guide).
    priority: where it runs in the web ACL; lower runs first.
    capacity: its web ACL capacity units (WCU), as the same list states them.
    """

    aws_name: str
    priority: int
    capacity: int


# Cheapest verdicts first: reputation lists, then the rate limit, then the request inspection groups.
MANAGED_RULE_GROUPS: dict[str, ManagedRuleGroup] = {
    "amazonIpReputation": ManagedRuleGroup(
        aws_name="AWSManagedRulesAmazonIpReputationList", priority=10, capacity=25
    ),
    "anonymousIpList": ManagedRuleGroup(aws_name="AWSManagedRulesAnonymousIpList", priority=20, capacity=50),
    "coreRuleSet": ManagedRuleGroup(aws_name="AWSManagedRulesCommonRuleSet", priority=40, capacity=700),
    "knownBadInputs": ManagedRuleGroup(
        aws_name="AWSManagedRulesKnownBadInputsRuleSet", priority=50, capacity=200
    ),
    "sqlDatabase": ManagedRuleGroup(aws_name="AWSManagedRulesSQLiRuleSet", priority=60, capacity=200),
}
RATE_LIMIT_PRIORITY = 30
RATE_LIMIT_CAPACITY = 2  # a rate-based statement without a scope-down statement
# The request price covers 1,500 WCU per web ACL; above that WAF bills more (AWS WAF pricing).
INCLUDED_CAPACITY = 1500


def _visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


def rule_name(namer: naming.Namer, key: str) -> str:
    """`rule-<key>-<suffix>`: the rule's name, and its CloudWatch metric name (the `Rule` dimension)."""
    return namer.name(naming.WAF_RULE, re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower())


def web_acl_rules(namer: naming.Namer, waf: WafConfig) -> list[dict[str, Any]]:
    """`aws.wafv2.WebAcl` rules: every enabled managed group, then the rate limit, by priority."""
    rules: list[dict[str, Any]] = []
    for key in waf.rule_groups:
        group = MANAGED_RULE_GROUPS[key]
        name = rule_name(namer, key)
        rules.append(
            {
                "name": name,
                "priority": group.priority,
                "statement": {
                    "managed_rule_group_statement": {"name": group.aws_name, "vendor_name": AWS_VENDOR}
                },
                # A rule group's own actions stand ("none") unless the group is rolled out in count mode.
                "override_action": {"count": {}} if key in waf.count_only else {"none": {}},
                "visibility_config": _visibility(name),
            }
        )
    name = rule_name(namer, WAF_RATE_LIMIT_RULE)
    rules.append(
        {
            "name": name,
            "priority": RATE_LIMIT_PRIORITY,
            "statement": {
                "rate_based_statement": {
                    "limit": waf.rate_limit,
                    "aggregate_key_type": "IP",  # the client address the ALB sees
                    "evaluation_window_sec": waf.rate_limit_window_seconds,
                }
            },
            "action": {"count": {}} if WAF_RATE_LIMIT_RULE in waf.count_only else {"block": {}},
            "visibility_config": _visibility(name),
        }
    )
    return sorted(rules, key=lambda rule: int(rule["priority"]))


def capacity(waf: WafConfig) -> int:
    """The web ACL's WCU: what its rules cost to evaluate."""
    return sum(MANAGED_RULE_GROUPS[key].capacity for key in waf.rule_groups) + RATE_LIMIT_CAPACITY


# Request components WAF logging can redact: UriPath, QueryString, SingleHeader and Method only
# (botocore wafv2 model, LoggingConfiguration.RedactedFields). The body is never logged, but a rule's
# matchedData can quote it, hence the web ACL's data protection below.
REDACTED_HEADERS = ("authorization", "cookie", "x-api-key")
LOG_REDACTED_FIELDS: list[dict[str, Any]] = [
    *({"single_header": {"name": header}} for header in REDACTED_HEADERS),
    {"query_string": {}},  # a card number in a query argument never reaches the logs
]
# Data protection (WebACL.DataProtectionConfig) replaces these fields in logs, sampled requests and
# rule match details; BODY and QUERY_STRING take no keys (botocore wafv2 model, FieldToProtect).
DATA_PROTECTIONS: list[dict[str, Any]] = [
    {"field": {"field_type": "BODY"}, "action": "SUBSTITUTION"},
    {"field": {"field_type": "QUERY_STRING"}, "action": "SUBSTITUTION"},
    {
        "field": {"field_type": "SINGLE_HEADER", "field_keys": list(REDACTED_HEADERS)},
        "action": "SUBSTITUTION",
    },
]
