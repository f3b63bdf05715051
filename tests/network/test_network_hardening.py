"""Hardening: closed default SG, encrypted flow logs with a scoped role, endpoints."""

from __future__ import annotations

import pytest

from offline.layer_projects import evaluate_layer
from tests.helpers import as_list, statements

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_the_default_security_group_is_adopted_with_no_rules(network):
    default = network.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs["vpcId"] == network.exports["vpcId"]
    assert default.inputs.get("ingress", []) == []
    assert default.inputs.get("egress", []) == []


def test_vpc_has_dns_support_and_hostnames_for_cloud_map(network):
    vpc = network.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"


def test_flow_logs_capture_all_traffic_into_the_encrypted_log_group(network):
    flow_log = network.one("aws:ec2/flowLog:FlowLog")
    group = network.one(LOG_GROUP)
    key = network.one(KEY, name="kms-network-dev")
    assert flow_log.inputs["vpcId"] == network.exports["vpcId"]
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group.state["arn"]
    assert group.inputs["name"] == "/vpc/flow-logs-dev"
    assert group.inputs["retentionInDays"] == 30
    assert group.inputs["kmsKeyId"] == key.state["arn"]


def test_flow_log_retention_and_traffic_type_follow_config():
    evaluation = evaluate_layer(
        "network", config={"flowLogRetentionDays": 90, "flowLogTrafficType": "REJECT"}
    )
    assert evaluation.one(LOG_GROUP).inputs["retentionInDays"] == 90
    assert evaluation.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "REJECT"


def test_the_key_rotates_and_is_deleted_after_seven_days(network):
    key = network.one(KEY, name="kms-network-dev")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 7
    alias = network.one("aws:kms/alias:Alias", name="alias/kms-network-dev")
    assert alias.inputs["name"] == "alias/kms-network-dev"
    assert alias.inputs["targetKeyId"] == key.state["keyId"]


def test_the_key_policy_lets_cloudwatch_logs_use_it_only_for_the_flow_log_group(network):
    policy = statements(network.one(KEY, name="kms-network-dev").inputs["policy"])
    [logs] = [s for s in policy if s.get("Principal", {}).get("Service") == "logs.us-east-1.amazonaws.com"]
    assert sorted(as_list(logs["Action"])) == [
        "kms:Decrypt*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": (
                "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs-dev"
            )
        }
    }
    [admin] = [s for s in policy if s is not logs]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


def test_the_flow_log_role_is_trusted_only_by_this_accounts_flow_logs(network):
    role = network.one("aws:iam/role:Role")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"
    }
    assert network.one("aws:ec2/flowLog:FlowLog").inputs["iamRoleArn"] == role.state["arn"]


def test_the_flow_log_role_may_write_only_to_its_log_group(network):
    group_arn = network.one(LOG_GROUP).state["arn"]
    policy = network.one("aws:iam/rolePolicy:RolePolicy")
    [write, streams, find] = statements(policy.inputs["policy"])
    assert find == {
        "Sid": "FindTheLogGroup",
        "Effect": "Allow",
        "Action": "logs:DescribeLogGroups",
        "Resource": "*",  # no resource type in the Service Authorization Reference
    }
    assert write["Effect"] == "Allow"
    assert sorted(as_list(write["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert as_list(write["Resource"]) == [f"{group_arn}:log-stream:*"]
    assert (streams["Action"], streams["Resource"]) == ("logs:DescribeLogStreams", group_arn)
    assert policy.urn in network.one("aws:ec2/flowLog:FlowLog").dependencies


def test_s3_gateway_endpoint_is_always_on_the_private_route_tables(network):
    [s3] = network.all("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert s3.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(s3.inputs["routeTableIds"]) == sorted(network.exports["privateRouteTableIds"])


def test_interface_endpoints_are_off_by_default_and_complete_when_on(network, network_ha):
    assert len(network.all("aws:ec2/vpcEndpoint:VpcEndpoint")) == 1
    interface = [
        e
        for e in network_ha.all("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    ]
    services = sorted(e.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.") for e in interface)
    assert services == ["ecr.api", "ecr.dkr", "kms", "logs", "secretsmanager"]
    sg = network_ha.one("aws:ec2/securityGroup:SecurityGroup")
    for endpoint in interface:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert endpoint.inputs["subnetIds"] == network_ha.exports["privateSubnetIds"]
        assert endpoint.inputs["securityGroupIds"] == [sg.id]


def test_interface_endpoint_security_group_allows_only_https_from_the_vpc(network_ha):
    sg = network_ha.one("aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["name"] == "security-group-vpc-endpoints-qa-7"
    assert "ingress" not in sg.inputs
    assert "egress" not in sg.inputs
    [rule] = network_ha.all("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["securityGroupId"] == sg.id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"
    assert network_ha.all("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_nothing_is_protected_or_retained(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    assert not [r.name for r in evaluation.resources if r.protect or r.retain_on_delete]
