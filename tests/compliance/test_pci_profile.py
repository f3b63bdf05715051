"""`complianceProfile: pci`: the archive, database audit, backups and declared-only egress are there;
the baseline plan gets none of it. Request shapes are checked against botocore's models, which the
project does not write."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator

from functions.secret_rotation.bootstrap import requested_extensions
from offline.engine import Evaluation
from offline.layer_projects import Layer, evaluate_layer
from shared.config.keys import LAYER_KEYS
from shared.config.network import NetworkConfig
from shared.config.platform import PlatformConfig
from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from stacks.network.endpoints import ECS_EXEC_SERVICE, INTERFACE_SERVICES, PCI_INTERFACE_SERVICES
from stacks.platform.audit_archive import RETENTION_DAYS
from tests.helpers import actions_of, statements

BUCKET = "aws:s3/bucket:Bucket"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
INSTANCE = "aws:rds/instance:Instance"
INVOCATION = "aws:lambda/invocation:Invocation"
VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PCI_ONLY_TYPES = (OBJECT_LOCK, STREAM, SUBSCRIPTION, VAULT, PLAN, SELECTION)
S3 = botocore.session.get_session().get_service_model("s3")
BACKUP = botocore.session.get_session().get_service_model("backup")
PCI_CONFIG = {"complianceProfile": "pci"}


def _reader(**values: object) -> ConfigReader:
    return ConfigReader.from_mapping({"environmentSuffix": "dev", **values})


@pytest.mark.parametrize("layer", ["network", "platform", "services"])
def test_every_layer_declares_the_profile_with_baseline_as_default(layer):
    key = LAYER_KEYS[layer]["complianceProfile"]
    assert (key.default, key.choices) == ("baseline", ("baseline", "pci"))


def test_an_unknown_profile_is_refused_naming_the_key_and_the_choices():
    with pytest.raises(ConfigError) as caught:
        NetworkConfig.load(_reader(complianceProfile="pci-dss"))
    assert str(caught.value) == (
        'complianceProfile: must be one of "baseline", "pci", got "pci-dss". '
        "Fix: in stacks/network: pulumi config set complianceProfile baseline; "
        "with plan: --config network:complianceProfile=baseline"
    )


def test_pci_turns_interface_endpoints_on_and_always_keeps_a_final_snapshot():
    assert NetworkConfig.load(_reader(complianceProfile="pci", interfaceEndpoints=False)).interface_endpoints
    platform = PlatformConfig.load(_reader(complianceProfile="pci", databaseSkipFinalSnapshot=True))
    assert platform.database.managed is not None
    assert platform.database.managed.skip_final_snapshot is False


@pytest.mark.parametrize("layer", ["network", "platform", "services"])
def test_the_baseline_plan_has_none_of_the_pci_resources(layer, request):
    baseline: Evaluation = request.getfixturevalue(layer)
    assert [r.name for r in baseline.resources if r.type in PCI_ONLY_TYPES] == []


def test_baseline_log_groups_keep_30_days_and_the_access_log_bucket_stays(platform, services):
    groups = [*platform.all(LOG_GROUP), *services.all(LOG_GROUP)]
    assert {g.inputs["retentionInDays"] for g in groups} == {30}
    [bucket] = platform.all(BUCKET)
    assert bucket.inputs["bucket"].startswith("s3-alb-logs-")
    assert "objectLockEnabled" not in bucket.inputs


def test_pci_log_groups_still_keep_30_days(network_pci, platform_pci, services_pci):
    groups = [*network_pci.all(LOG_GROUP), *platform_pci.all(LOG_GROUP), *services_pci.all(LOG_GROUP)]
    assert {g.inputs["retentionInDays"] for g in groups} == {30}


def test_the_archive_is_write_once_for_a_year_in_governance_mode_and_destroyable(platform_pci):
    [bucket] = platform_pci.all(BUCKET)
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.inputs["forceDestroy"] is True
    lock = platform_pci.one(OBJECT_LOCK)
    retention = lock.inputs["rule"]["defaultRetention"]
    assert retention == {"mode": "GOVERNANCE", "days": RETENTION_DAYS}
    assert RETENTION_DAYS >= 365
    request = {
        "Bucket": "b",
        "ObjectLockConfiguration": {
            "ObjectLockEnabled": lock.inputs["objectLockEnabled"],
            "Rule": {"DefaultRetention": {"Mode": retention["mode"], "Days": int(retention["days"])}},
        },
    }
    report = ParamValidator().validate(request, S3.operation_model("PutObjectLockConfiguration").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_archive_moves_to_a_colder_class_after_90_days_and_expires_after_the_lock(platform_pci):
    [rule] = platform_pci.one(LIFECYCLE).inputs["rules"]
    [transition] = rule["transitions"]
    assert (transition["days"], transition["storageClass"]) == (90, "GLACIER_IR")
    assert transition["storageClass"] in S3.shape_for("TransitionStorageClass").enum
    assert rule["expiration"]["days"] > RETENTION_DAYS


def test_both_load_balancers_log_into_the_archive(platform_pci):
    [bucket] = platform_pci.all(BUCKET)
    for balancer in platform_pci.all(LOAD_BALANCER):
        assert balancer.inputs["accessLogs"]["bucket"] == bucket.inputs["bucket"]


def test_firehose_writes_objects_under_the_platform_key(platform_pci):
    key_arn = platform_pci.exports["kmsKeyArn"]
    stream = platform_pci.one(STREAM)
    assert stream.inputs["extendedS3Configuration"]["kmsKeyArn"] == key_arn
    assert stream.inputs["serverSideEncryption"]["keyArn"] == key_arn


def test_every_log_group_of_every_layer_is_subscribed_to_the_archive(network_pci, platform_pci, services_pci):
    stream_arn = platform_pci.exports["auditStreamArn"]
    subscriptions = [*platform_pci.all(SUBSCRIPTION), *services_pci.all(SUBSCRIPTION)]
    assert {s.inputs["destinationArn"] for s in subscriptions} == {stream_arn}
    groups = {g.inputs["name"] for e in (network_pci, platform_pci, services_pci) for g in e.all(LOG_GROUP)}
    assert {s.inputs["logGroup"] for s in subscriptions} == groups


def test_cloudwatch_logs_may_only_put_into_the_audit_stream(platform_pci):
    stream_arn = platform_pci.exports["auditStreamArn"]
    [policy] = [p for p in platform_pci.all(ROLE_POLICY) if "logs-to-firehose" in p.name]
    [statement] = statements(policy.inputs["policy"])
    assert actions_of(statement) == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert statement["Resource"] == stream_arn


def test_the_logs_role_trusts_cloudwatch_logs_as_its_user_guide_shows_for_this_accounts_logs(platform_pci):
    # CloudWatch Logs user guide, "Subscription filters with Amazon Data Firehose": TrustPolicyForCWL.json.
    [role] = [r for r in platform_pci.all("aws:iam/role:Role") if "logs-to-firehose" in r.name]
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "logs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringLike": {"aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:*"}}


def test_pgaudit_and_connection_logging_are_in_the_parameter_group_only_with_pci(platform, platform_pci):
    def parameters(evaluation):
        return {p["name"]: p["value"] for p in evaluation.one(PARAMETER_GROUP).inputs["parameters"]}

    assert parameters(platform) == {"rds.force_ssl": "1"}
    audit = parameters(platform_pci)
    assert "pgaudit" in audit["shared_preload_libraries"].split(",")
    assert set(audit["pgaudit.log"].split(",")) == {"ddl", "role", "write"}
    assert audit["log_connections"] == audit["log_disconnections"] == "1"
    assert "postgresql" in platform_pci.one(INSTANCE).inputs["enabledCloudwatchLogsExports"]


def test_pci_asks_the_database_bootstrap_for_pgaudit_and_the_baseline_does_not(platform, platform_pci):
    def request(evaluation):
        return json.loads(evaluation.one(INVOCATION).inputs["input"])

    assert request(platform_pci)["Extensions"] == ["pgaudit"]
    # What the function accepts (functions/secret_rotation/bootstrap.py) and the library the
    # parameter group preloads: the extension cannot be created without it.
    assert requested_extensions(request(platform_pci)) == ("pgaudit",)
    preloaded = {p["name"]: p["value"] for p in platform_pci.one(PARAMETER_GROUP).inputs["parameters"]}
    assert "pgaudit" in preloaded["shared_preload_libraries"].split(",")
    assert "Extensions" not in request(platform)


def test_pci_backs_the_database_up_with_aws_backup_and_keeps_a_final_snapshot(platform_pci):
    instance = platform_pci.one(INSTANCE)
    assert instance.inputs["skipFinalSnapshot"] is False
    assert instance.inputs["finalSnapshotIdentifier"]
    vault, plan, selection = platform_pci.one(VAULT), platform_pci.one(PLAN), platform_pci.one(SELECTION)
    assert vault.inputs["forceDestroy"] is True
    assert selection.inputs["resources"] == [instance.state["arn"]]
    [rule] = plan.inputs["rules"]
    request = {
        "BackupPlan": {
            "BackupPlanName": plan.inputs["name"],
            "Rules": [
                {
                    "RuleName": rule["ruleName"],
                    "TargetBackupVaultName": rule["targetVaultName"],
                    "ScheduleExpression": rule["schedule"],
                    "Lifecycle": {"DeleteAfterDays": int(rule["lifecycle"]["deleteAfter"])},
                }
            ],
        }
    }
    report = ParamValidator().validate(request, BACKUP.operation_model("CreateBackupPlan").input_shape)
    assert not report.has_errors(), report.generate_report()


def _endpoint_services(evaluation: Evaluation) -> set[str]:
    return {
        e.inputs["serviceName"].rsplit(".", 1)[-1] if e.inputs["vpcEndpointType"] == "Gateway"
        else e.inputs["serviceName"].split("us-east-1.", 1)[1]
        for e in evaluation.all(ENDPOINT)
    }  # fmt: skip


def test_pci_builds_an_interface_endpoint_for_every_api_the_tasks_and_functions_call(network, network_pci):
    assert _endpoint_services(network) == {"s3"}
    assert _endpoint_services(network_pci) == {"s3", *PCI_INTERFACE_SERVICES}
    assert set(INTERFACE_SERVICES) < set(PCI_INTERFACE_SERVICES)


def test_the_ecs_exec_endpoint_is_built_only_with_ecs_exec_endpoint(network, network_pci):
    assert ECS_EXEC_SERVICE not in _endpoint_services(network_pci)
    assert network_pci.exports["ecsExecEndpoint"] is False
    assert network.exports["ecsExecEndpoint"] is False
    with_exec = evaluate_layer("network", config={**PCI_CONFIG, "ecsExecEndpoint": True})
    assert _endpoint_services(with_exec) == {"s3", *PCI_INTERFACE_SERVICES, ECS_EXEC_SERVICE}
    assert with_exec.exports["ecsExecEndpoint"] is True
    # Outside pci it is the one interface endpoint, behind the same security group as the others.
    baseline = evaluate_layer("network", config={"ecsExecEndpoint": True})
    assert _endpoint_services(baseline) == {"s3", ECS_EXEC_SERVICE}
    [group] = [g for g in baseline.all("aws:ec2/securityGroup:SecurityGroup") if "vpc-endpoints" in g.name]
    [endpoint] = [e for e in baseline.all(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    assert endpoint.inputs["securityGroupIds"] == [group.id]
    assert endpoint.inputs["privateDnsEnabled"] is True  # the agent calls ssmmessages by its public name


def test_a_pci_platform_with_ecs_exec_is_refused_on_a_network_without_the_endpoint(network_pci):
    with pytest.raises(Exception, match="set network:ecsExecEndpoint=true") as caught:
        evaluate_layer(
            "platform",
            config={**PCI_CONFIG, "ecsExec": True},
            upstream={Layer("network").stack_name("dev"): network_pci.exports},
        )
    assert "ecsExec: with complianceProfile pci needs the network layer's ssmmessages" in str(caught.value)


def test_a_pci_platform_with_ecs_exec_is_built_on_a_network_with_the_endpoint(network_pci):
    network = evaluate_layer("network", config={**PCI_CONFIG, "ecsExecEndpoint": True})
    platform = evaluate_layer(
        "platform",
        config={**PCI_CONFIG, "ecsExec": True},
        upstream={Layer("network").stack_name("dev"): network.exports},
    )
    [exec_configuration] = [platform.one("aws:ecs/cluster:Cluster").inputs["configuration"]]
    assert exec_configuration["executeCommandConfiguration"]["kmsKeyId"] == platform.exports["kmsKeyArn"]


def test_a_baseline_platform_with_ecs_exec_needs_no_endpoint(network):
    platform = evaluate_layer(
        "platform", config={"ecsExec": True}, upstream={Layer("network").stack_name("dev"): network.exports}
    )
    assert platform.one("aws:ecs/cluster:Cluster").inputs["configuration"]["executeCommandConfiguration"]


@pytest.mark.parametrize("evaluation", ["platform_pci", "services_pci"])
def test_no_pci_security_group_sends_anywhere_on_443_only_to_the_endpoints_and_s3(
    evaluation, request, network_pci
):
    plan: Evaluation = request.getfixturevalue(evaluation)
    # The egress proxy's own rule is the one exception: Squid decides which host it reaches
    # (tests/platform/test_platform_egress_proxy.py checks it is the only one).
    https = [
        r
        for r in plan.all(EGRESS)
        if r.inputs["fromPort"] == 443 and not r.name.startswith("security-group-egress-proxy-")
    ]
    assert https, "no HTTPS egress at all"
    assert [r.name for r in https if r.inputs.get("cidrIpv4") == "0.0.0.0/0"] == []
    peers = {r.inputs.get("referencedSecurityGroupId") or r.inputs.get("prefixListId") for r in https}
    allowed = {network_pci.exports["endpointSecurityGroupId"], network_pci.exports["gatewayPrefixListId"]}
    # The smoke test also calls the public ALB's test listener on 443 through its own rules (NAT list).
    assert peers - allowed <= {r.inputs.get("prefixListId") for r in https if "smoke-test" in r.name}


@pytest.mark.parametrize("evaluation", ["platform", "services"])
def test_baseline_security_groups_still_send_443_anywhere_through_nat(evaluation, request):
    plan: Evaluation = request.getfixturevalue(evaluation)
    assert [
        r for r in plan.all(EGRESS) if r.inputs["fromPort"] == 443 and r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]


def test_a_pci_layer_on_a_baseline_network_is_refused_naming_the_missing_export(network, platform_pci):
    with pytest.raises(Exception, match="endpointSecurityGroupId export"):
        evaluate_layer(
            "platform",
            config={"complianceProfile": "pci"},
            upstream={Layer("network").stack_name("dev"): network.exports},
        )


def test_the_pci_plan_passes_every_mandatory_rule(network_pci, platform_pci, services_pci):
    from policy.model import ADVISORY
    from policy.offline_check import check

    results = check([network_pci, platform_pci, services_pci], "dev")
    failures = {r.rule.name: r.violations for r in results if not r.passed and r.rule.enforcement != ADVISORY}
    assert failures == {}, json.dumps(failures, indent=1)


def test_the_pci_plan_prices_the_archive_and_the_backups_and_the_baseline_does_not(platform, platform_pci):
    from planning import pricing
    from planning.cost import estimate
    from policy.offline_check import resources_of

    table = pricing.load("us-east-1")
    pci = {line.item: line for line in estimate({"platform": resources_of(platform_pci)}, table).lines}
    baseline = {line.item for line in estimate({"platform": resources_of(platform)}, table).lines}
    archive = pci["Audit archive (Firehose, S3, Glacier IR)"]
    # 90 days in S3 Standard, the other 275 of the year in Glacier IR, and Firehose's ingestion, per GB.
    per_gb = 0.029 + 3 * 0.023 + (275 / 30) * 0.004
    assert archive.monthly["min"] == pytest.approx(table.assumed("archiveGbPerMonth", "min") * per_gb)
    assert pci["AWS Backup (database snapshots)"].monthly["min"] == pytest.approx(20 * 0.095)
    assert not baseline & {"Audit archive (Firehose, S3, Glacier IR)", "AWS Backup (database snapshots)"}


def test_pci_accepts_a_rotation_that_calls_a_key_api_and_allows_its_host_at_the_proxy():
    platform = PlatformConfig.load(
        _reader(
            complianceProfile="pci",
            paymentProviderApiKeyRotation="http-key-api",
            paymentProviderKeyApiUrl="https://keys.provider.example/",
        )
    )
    assert platform.egress_proxy is not None
    assert platform.egress_proxy.allowed_hosts == ("keys.provider.example",)


def test_the_pci_plan_prices_the_egress_proxy_tasks_and_the_baseline_does_not(platform, platform_pci):
    from planning import pricing
    from planning.cost import estimate
    from policy.offline_check import resources_of

    table = pricing.load("us-east-1")
    pci = {line.item: line for line in estimate({"platform": resources_of(platform_pci)}, table).lines}
    baseline = {line.item for line in estimate({"platform": resources_of(platform)}, table).lines}
    proxy = pci["Fargate ecs-service-egress-proxy-dev"]
    # Two tasks of 0.25 vCPU / 0.5 GB, around the clock, at the Fargate x86 on-demand rates.
    rate = table.fargate_rate("X86_64", spot=False)
    per_task = 730 * (0.25 * rate.vcpu_hour + 0.5 * rate.gb_hour)
    assert proxy.monthly["min"] == pytest.approx(2 * per_task, rel=1e-3)
    assert proxy.monthly["min"] == proxy.monthly["max"]  # a fixed count, no autoscaling
    assert not [item for item in baseline if "egress-proxy" in item]
