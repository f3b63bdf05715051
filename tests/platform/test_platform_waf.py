"""AWS WAF on the public ALB: rule groups, rate limit, count-mode rollout, logs, and botocore's shapes."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator

from offline.layer_projects import Layer, evaluate_layer
from shared.config.keys import LAYER_KEYS
from shared.config.platform import WafConfig
from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from stacks.platform.waf_rules import INCLUDED_CAPACITY, capacity
from tests.helpers import as_list

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
WAFV2 = botocore.session.get_session().get_service_model("wafv2")
# Pulumi's (Terraform's) spelling where it is not the API's name with a lower-case first letter.
API_NAMES = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


def to_api(value):
    """A recorded Pulumi input as the wafv2 API spells it: PascalCase keys, whole numbers as int."""
    if isinstance(value, dict):
        return {API_NAMES.get(k, k[:1].upper() + k[1:]): to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def request_errors(operation, params):
    report = ParamValidator().validate(params, WAFV2.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def rules_by_group(acl):
    return {
        r["statement"].get("managedRuleGroupStatement", {}).get("name", "rate-limit"): r
        for r in acl.inputs["rules"]
    }


@pytest.fixture(scope="module")
def platform_without_waf(network):
    return evaluate_layer(
        "platform", config={"waf": False}, upstream={Layer("network").stack_name("dev"): network.exports}
    )


def test_the_public_alb_and_only_it_is_behind_a_regional_web_acl(platform):
    acl = platform.one(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    [association] = platform.all(ASSOCIATION)
    assert association.inputs["resourceArn"] == platform.exports["publicAlbArn"]
    assert association.inputs["webAclArn"] == acl.state["arn"]


def test_by_default_the_baseline_groups_block_and_the_rate_limit_blocks_2000_per_5_minutes(platform):
    rules = rules_by_group(platform.one(WEB_ACL))
    assert set(rules) == {
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "rate-limit",
    }
    for name, rule in rules.items():
        if name == "rate-limit":
            assert rule["action"] == {"block": {}}
            assert rule["statement"]["rateBasedStatement"] == {
                "limit": 2000,
                "aggregateKeyType": "IP",
                "evaluationWindowSec": 300,
            }
        else:
            assert rule["overrideAction"] == {"none": {}}
            assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"


def test_optional_groups_and_count_mode_come_from_config(platform_alt):
    rules = rules_by_group(platform_alt.one(WEB_ACL))
    assert {"AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAnonymousIpList"} <= set(rules)
    counting = {
        name for name, r in rules.items() if {"count": {}} in (r.get("overrideAction"), r.get("action"))
    }
    assert counting == {"AWSManagedRulesCommonRuleSet", "rate-limit"}
    assert rules["rate-limit"]["statement"]["rateBasedStatement"]["limit"] == 500
    assert rules["rate-limit"]["statement"]["rateBasedStatement"]["evaluationWindowSec"] == 60


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_every_rule_has_its_own_metric_and_a_unique_priority(request, fixture):
    acl = request.getfixturevalue(fixture).one(WEB_ACL)
    rules = acl.inputs["rules"]
    assert len({r["priority"] for r in rules}) == len(rules)
    metrics = [r["visibilityConfig"]["metricName"] for r in rules]
    assert len(set(metrics)) == len(rules)
    for rule in rules:
        assert rule["visibilityConfig"] == {
            "cloudwatchMetricsEnabled": True,
            "metricName": rule["name"],
            "sampledRequestsEnabled": True,
        }
    assert (
        acl.inputs["visibilityConfig"]["metricName"]
        == request.getfixturevalue(fixture).exports["wafMetricName"]
    )


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_the_web_acl_is_a_valid_create_web_acl_request_for_botocore(request, fixture):
    acl = request.getfixturevalue(fixture).one(WEB_ACL)
    params = to_api({k: v for k, v in acl.inputs.items() if k not in ("tags", "region")})
    params["Tags"] = [{"Key": k, "Value": v} for k, v in acl.inputs["tags"].items()]
    assert request_errors("CreateWebACL", params) == ""
    shapes = WAFV2._shape_resolver
    entity = re.compile(shapes.get_shape_by_name("EntityName").metadata["pattern"])
    metric = re.compile(shapes.get_shape_by_name("MetricName").metadata["pattern"])
    assert entity.fullmatch(params["Name"])
    for rule in params["Rules"]:
        assert entity.fullmatch(rule["Name"]), rule["Name"]
        assert metric.fullmatch(rule["VisibilityConfig"]["MetricName"])
        if "RateBasedStatement" in rule["Statement"]:
            limit = shapes.get_shape_by_name("RateLimit").metadata
            assert limit["min"] <= rule["Statement"]["RateBasedStatement"]["Limit"] <= limit["max"]
    protected = {p["Field"]["FieldType"] for p in params["DataProtectionConfig"]["DataProtections"]}
    assert protected <= set(shapes.get_shape_by_name("FieldToProtectType").enum)
    assert "BODY" in protected  # matchedData may quote the body: card numbers never reach the logs


def test_a_broken_rule_fails_the_botocore_check_so_the_check_can_fail(platform):
    params = to_api({k: v for k, v in platform.one(WEB_ACL).inputs.items() if k not in ("tags", "region")})
    del params["Rules"][0]["VisibilityConfig"]
    params["Rules"][1]["Priority"] = "first"
    errors = request_errors("CreateWebACL", params)
    assert 'Missing required parameter in Rules[0]: "VisibilityConfig"' in errors
    assert "Rules[1].Priority" in errors


def test_the_web_acl_fits_the_capacity_the_request_price_includes():
    everything = WafConfig.load(
        ConfigReader.from_mapping({"wafOptionalRuleGroups": ["sqlDatabase", "anonymousIpList"]}).declared(
            LAYER_KEYS["platform"]
        )
    )
    assert capacity(everything) <= INCLUDED_CAPACITY


@pytest.mark.parametrize(("fixture", "retention"), [("platform", 30), ("platform_alt", 90)])
def test_logs_go_to_an_encrypted_aws_waf_logs_group_with_credentials_redacted(request, fixture, retention):
    evaluation = request.getfixturevalue(fixture)
    suffix = evaluation.exports["clusterName"].rsplit("-", 1)[-1] if fixture == "platform" else "qa-7"
    group = evaluation.one(LOG_GROUP, f"aws-waf-logs-public-{suffix}")
    assert group.inputs["retentionInDays"] == retention
    assert group.inputs["kmsKeyId"] == evaluation.exports["kmsKeyArn"]
    logging = evaluation.one(LOGGING)
    assert logging.inputs["resourceArn"] == evaluation.one(WEB_ACL).state["arn"]
    assert logging.inputs["logDestinationConfigs"] == [group.state["arn"]]
    assert not group.state["arn"].endswith(":*")  # WAF refuses the ":*" form
    params = to_api({"resourceArn": logging.inputs["resourceArn"], **logging.inputs})
    assert request_errors("PutLoggingConfiguration", {"LoggingConfiguration": params}) == ""
    redacted = logging.inputs["redactedFields"]
    assert {"singleHeader": {"name": "authorization"}} in redacted
    assert {"queryString": {}} in redacted
    assert evaluation.exports["wafLogGroupName"] == group.inputs["name"]


def test_only_waf_log_delivery_may_write_the_log_group_and_destroy_removes_its_policy(platform):
    policy = json.loads(platform.one(LOG_POLICY).inputs["policyDocument"])
    [statement] = policy["Statement"]
    group = platform.one(LOG_GROUP, "aws-waf-logs-public-dev")
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert set(as_list(statement["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert as_list(statement["Resource"]) == [f"{group.state['arn']}:*"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    logging = platform.one(LOGGING)
    assert platform.one(LOG_POLICY).urn in logging.dependencies


def test_waf_false_is_a_deliberate_opt_out_that_the_policy_pack_flags(platform_without_waf):
    from policy.offline_check import check

    assert platform_without_waf.all(WEB_ACL) == []
    assert platform_without_waf.all(LOG_GROUP) != []  # the rest of the layer is still there
    assert platform_without_waf.exports["wafWebAclName"] == ""
    [waf_rule] = [r for r in check([platform_without_waf], "dev") if r.rule.name == "public-alb-behind-waf"]
    assert waf_rule.rule.enforcement == "advisory"
    assert waf_rule.violations == ("alb-public-dev: no AWS WAF web ACL is associated",)


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"wafOptionalRuleGroups": ["botControl"]}, "wafOptionalRuleGroups", "must list only sqlDatabase"),
        ({"wafCountOnly": ["sqlDatabase"]}, "wafCountOnly", "must be in wafOptionalRuleGroups"),
        ({"wafCountOnly": ["rateLimit", "rateLimit"]}, "wafCountOnly", "lists a name twice"),
        ({"wafRateLimit": "5"}, "wafRateLimit", "at least 10"),
        (
            {"wafRateLimitWindowSeconds": "90"},
            "wafRateLimitWindowSeconds",
            "must be one of 60, 120, 300, 600",
        ),
        ({"wafLogRetentionDays": "31"}, "wafLogRetentionDays", "retention period"),
        ({"waf": "yes"}, "waf", "must be true or false"),
    ],
)
def test_bad_waf_config_is_refused_with_the_key_and_the_fix(values, key, message):
    with pytest.raises(ConfigError) as caught:
        WafConfig.load(ConfigReader.from_mapping(values).declared(LAYER_KEYS["platform"]))
    assert caught.value.key == key
    assert message in str(caught.value)
