"""The managed PostgreSQL: private, encrypted with the platform key, TLS forced, admitted only from its
clients, destroyable, and bootstrapped before its secret's rotation is attached.

Request shapes are checked against botocore's RDS model, which the project does not write."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator

from functions.secret_rotation.bootstrap import is_bootstrap
from offline.layer_projects import Layer, evaluate_layer
from offline.secret_values import reveal
from policy.offline_check import check
from shared.contracts import SecretPurposes
from tests.helpers import actions_of, as_list, resources_of, statements

INSTANCE = "aws:rds/instance:Instance"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
INVOCATION = "aws:lambda/invocation:Invocation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
RDS = botocore.session.get_session().get_service_model("rds")

# A production-like managed stack: every database knob away from the dev example.
PRODUCTION_LIKE = {
    "environmentSuffix": "prod",
    "databaseInstanceClass": "db.m7g.large",
    "databaseEngineVersion": "16.4",
    "databaseAllocatedStorageGb": 50,
    "databaseMaxAllocatedStorageGb": 500,
    "databaseMultiAz": True,
    "databaseBackupRetentionDays": 14,
    "databaseSkipFinalSnapshot": False,
    "logRetentionDays": 90,
}


@pytest.fixture(scope="module")
def production_like(network):
    return evaluate_layer(
        "platform", config=PRODUCTION_LIKE, upstream={Layer("network").stack_name("dev"): network.exports}
    )


def database_group(evaluation):
    [group] = [
        g for g in evaluation.all(SECURITY_GROUP) if g.inputs["name"].startswith("security-group-database-")
    ]
    return group


def rotation_group(evaluation):
    [group] = [g for g in evaluation.all(SECURITY_GROUP) if "secret-rotation" in g.inputs["name"]]
    return group


def validate(operation: str, request: dict) -> None:
    report = ParamValidator().validate(request, RDS.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def create_request(instance) -> dict:
    """CreateDBInstance as the provider sends it, from the instance's inputs (numbers arrive as floats
    through the engine's protobuf structs)."""
    i = instance.inputs
    return {
        "DBInstanceIdentifier": i["identifier"],
        "DBInstanceClass": i["instanceClass"],
        "Engine": i["engine"],
        "EngineVersion": i["engineVersion"],
        "AutoMinorVersionUpgrade": i["autoMinorVersionUpgrade"],
        "AllocatedStorage": int(i["allocatedStorage"]),
        "MaxAllocatedStorage": int(i["maxAllocatedStorage"]),
        "StorageType": i["storageType"],
        "StorageEncrypted": i["storageEncrypted"],
        "KmsKeyId": i["kmsKeyId"],
        "DBName": i["dbName"],
        "Port": int(i["port"]),
        "MasterUsername": i["username"],
        "ManageMasterUserPassword": i["manageMasterUserPassword"],
        "MasterUserSecretKmsKeyId": i["masterUserSecretKmsKeyId"],
        "DBSubnetGroupName": i["dbSubnetGroupName"],
        "DBParameterGroupName": i["parameterGroupName"],
        "VpcSecurityGroupIds": i["vpcSecurityGroupIds"],
        "PubliclyAccessible": i["publiclyAccessible"],
        "MultiAZ": i["multiAz"],
        "BackupRetentionPeriod": int(i["backupRetentionPeriod"]),
        "CopyTagsToSnapshot": i["copyTagsToSnapshot"],
        "DeletionProtection": i["deletionProtection"],
        "EnableCloudwatchLogsExports": i["enabledCloudwatchLogsExports"],
        "EnablePerformanceInsights": i["performanceInsightsEnabled"],
        "PerformanceInsightsKMSKeyId": i["performanceInsightsKmsKeyId"],
        "PerformanceInsightsRetentionPeriod": int(i["performanceInsightsRetentionPeriod"]),
        "DatabaseInsightsMode": i["databaseInsightsMode"],
        "Tags": [{"Key": k, "Value": v} for k, v in i["tags"].items()],
    }


@pytest.mark.parametrize("fixture", ["platform", "production_like"])
def test_the_instance_is_a_valid_create_request_for_rds_postgresql_16(request, fixture):
    instance = request.getfixturevalue(fixture).one(INSTANCE)
    validate("CreateDBInstance", create_request(instance))
    assert instance.inputs["engine"] == "postgres"
    assert instance.inputs["engineVersion"].split(".")[0] == "16"
    assert instance.inputs["autoMinorVersionUpgrade"] is True
    assert instance.inputs["allowMajorVersionUpgrade"] is False
    # DatabaseInsightsMode is a closed set in the model: standard is the free one.
    insights = RDS.shape_for("DatabaseInsightsMode")
    assert instance.inputs["databaseInsightsMode"] in insights.enum


@pytest.mark.parametrize("fixture", ["platform", "production_like"])
def test_the_instance_is_private_in_its_own_subnet_group_on_the_private_subnets(request, fixture, network):
    evaluation = request.getfixturevalue(fixture)
    instance = evaluation.one(INSTANCE)
    subnet_group = evaluation.one(SUBNET_GROUP)
    assert instance.inputs["publiclyAccessible"] is False
    assert instance.inputs["dbSubnetGroupName"] == subnet_group.inputs["name"]
    assert subnet_group.inputs["subnetIds"] == network.exports["privateSubnetIds"]
    assert not set(subnet_group.inputs["subnetIds"]) & set(network.exports["publicSubnetIds"])
    assert instance.inputs["vpcSecurityGroupIds"] == [database_group(evaluation).id]
    validate(
        "CreateDBSubnetGroup",
        {
            "DBSubnetGroupName": subnet_group.inputs["name"],
            "DBSubnetGroupDescription": subnet_group.inputs["description"],
            "SubnetIds": subnet_group.inputs["subnetIds"],
        },
    )


@pytest.mark.parametrize("fixture", ["platform", "production_like"])
def test_storage_master_secret_and_insights_are_encrypted_with_the_platform_key(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    key_arn = evaluation.one("aws:kms/key:Key").state["arn"]
    instance = evaluation.one(INSTANCE).inputs
    assert (instance["storageEncrypted"], instance["storageType"]) == (True, "gp3")
    assert instance["kmsKeyId"] == key_arn
    assert instance["manageMasterUserPassword"] is True
    assert "password" not in instance  # the project never holds the master password
    assert instance["masterUserSecretKmsKeyId"] == key_arn
    assert instance["performanceInsightsKmsKeyId"] == key_arn


def test_the_parameter_group_forces_tls_for_the_instances_major_version(platform, production_like):
    for evaluation in (platform, production_like):
        group = evaluation.one(PARAMETER_GROUP)
        instance = evaluation.one(INSTANCE)
        assert instance.inputs["parameterGroupName"] == group.inputs["name"]
        assert group.inputs["family"] == "postgres" + instance.inputs["engineVersion"].split(".")[0]
        [parameter] = group.inputs["parameters"]
        assert (parameter["name"], parameter["value"]) == ("rds.force_ssl", "1")
        # ApplyMethod is a closed set in the model ("immediate" | "pending-reboot").
        assert parameter["applyMethod"] in RDS.shape_for("ApplyMethod").enum
        validate(
            "CreateDBParameterGroup",
            {
                "DBParameterGroupName": group.inputs["name"],
                "DBParameterGroupFamily": group.inputs["family"],
                "Description": group.inputs["description"],
            },
        )
        validate(
            "ModifyDBParameterGroup",
            {
                "DBParameterGroupName": group.inputs["name"],
                "Parameters": [
                    {
                        "ParameterName": parameter["name"],
                        "ParameterValue": parameter["value"],
                        "ApplyMethod": parameter["applyMethod"],
                    }
                ],
            },
        )


@pytest.mark.parametrize(("fixture", "retention"), [("platform", 30), ("production_like", 90)])
def test_exported_logs_go_to_encrypted_retained_groups_created_before_the_instance(
    request, fixture, retention
):
    evaluation = request.getfixturevalue(fixture)
    instance = evaluation.one(INSTANCE)
    key_arn = evaluation.one("aws:kms/key:Key").state["arn"]
    exports = instance.inputs["enabledCloudwatchLogsExports"]
    assert sorted(exports) == ["postgresql", "upgrade"]
    for log in exports:
        group = evaluation.one(LOG_GROUP, f"/aws/rds/instance/{instance.inputs['identifier']}/{log}")
        assert group.inputs["kmsKeyId"] == key_arn
        assert group.inputs["retentionInDays"] == retention
        assert group.urn in instance.dependencies


def test_backups_multi_az_and_destroy_follow_config(platform, production_like):
    dev = platform.one(INSTANCE).inputs
    assert dev["multiAz"] is False  # the dev example opts out
    assert dev["instanceClass"] == "db.t4g.micro"
    assert (dev["deletionProtection"], dev["skipFinalSnapshot"]) == (False, True)
    assert "finalSnapshotIdentifier" not in dev
    assert dev["backupRetentionPeriod"] == 7
    prod = production_like.one(INSTANCE).inputs
    assert (prod["multiAz"], prod["instanceClass"], prod["engineVersion"]) == (True, "db.m7g.large", "16.4")
    assert (prod["allocatedStorage"], prod["maxAllocatedStorage"]) == (50, 500)
    assert prod["backupRetentionPeriod"] == 14
    assert (prod["deletionProtection"], prod["skipFinalSnapshot"]) == (False, False)
    assert prod["finalSnapshotIdentifier"] == "rds-final-ledger-prod"
    validate(
        "DeleteDBInstance",
        {
            "DBInstanceIdentifier": prod["identifier"],
            "SkipFinalSnapshot": prod["skipFinalSnapshot"],
            "FinalDBSnapshotIdentifier": prod["finalSnapshotIdentifier"],
            "DeleteAutomatedBackups": prod["deleteAutomatedBackups"],
        },
    )
    for instance in (dev, prod):
        assert instance["copyTagsToSnapshot"] is True
    for evaluation in (platform, production_like):
        for resource in evaluation.resources:
            assert not resource.protect, resource.name
            assert not resource.retain_on_delete, resource.name


def test_the_database_group_admits_only_the_rotation_function_on_the_database_port(platform):
    group = database_group(platform)
    rules = [r for r in platform.all(INGRESS) if r.inputs["securityGroupId"] == group.id]
    assert [
        (r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules
    ] == [(rotation_group(platform).id, 5432, 5432)]
    assert not [r for r in platform.all(EGRESS) if r.inputs["securityGroupId"] == group.id]


def test_the_database_is_bootstrapped_once_after_all_it_needs_and_before_its_rotation(platform):
    invocation = platform.one(INVOCATION)
    function = platform.one("aws:lambda/function:Function")
    secret_arn = platform.exports["secretArns"][SecretPurposes.DATABASE_CONNECTION]
    assert invocation.inputs["functionName"] == function.inputs["name"]
    assert json.loads(invocation.inputs["input"]) == {"Action": "bootstrapDatabase", "SecretId": secret_arn}
    # The rotation function's handler takes it as its bootstrap action (functions/secret_rotation).
    assert is_bootstrap(json.loads(invocation.inputs["input"]))
    # CREATE_ONLY: invoked on create and replacement; delete and refresh call nothing.
    assert invocation.inputs["lifecycleScope"] == "CREATE_ONLY"
    instance = platform.one(INSTANCE)
    assert invocation.inputs["triggers"] == {"databaseInstance": instance.state["resourceId"]}
    needed = {
        instance.urn,
        platform.one("aws:iam/rolePolicy:RolePolicy").urn,
        *(r.urn for r in platform.all(INGRESS) if r.inputs["securityGroupId"] == database_group(platform).id),
        *(
            r.urn
            for r in platform.all(EGRESS)
            if r.inputs["securityGroupId"] == rotation_group(platform).id and r.inputs["fromPort"] == 5432
        ),
    }
    version = next(
        v
        for v in platform.all("aws:secretsmanager/secretVersion:SecretVersion")
        if platform.by_id(v.inputs["secretId"]).state["arn"] == secret_arn
    )
    assert needed | {version.urn} <= set(invocation.dependencies)
    [database_rotation] = [
        r for r in platform.all(ROTATION) if platform.by_id(r.inputs["secretId"]).state["arn"] == secret_arn
    ]
    # Every rotation waits for the bootstrap: attaching one invokes the function (testSecret).
    assert all(invocation.urn in r.dependencies for r in platform.all(ROTATION))
    assert platform.all(ROTATION)[0] is database_rotation


def test_an_external_database_is_neither_created_nor_bootstrapped(platform_alt):
    assert platform_alt.all(INSTANCE) == []
    assert platform_alt.all(INVOCATION) == []
    assert platform_alt.exports["databaseEndpoint"] == "payments.cluster-abc.us-east-1.rds.amazonaws.com"
    assert platform_alt.exports["databasePort"] == 6432


def test_the_rotation_role_may_read_and_decrypt_only_the_master_secret_through_secrets_manager(platform):
    master = platform.one(INSTANCE).state["masterUserSecrets"][0]["secretArn"]
    policy = statements(platform.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy}
    read = by_sid["ReadTheDatabaseMasterSecret"]
    assert (actions_of(read), resources_of(read)) == (["secretsmanager:GetSecretValue"], [master])
    decrypt = by_sid["DecryptTheDatabaseMasterSecret"]
    assert actions_of(decrypt) == ["kms:Decrypt"]
    condition = decrypt["Condition"]["StringEquals"]
    assert as_list(condition["kms:EncryptionContext:SecretARN"]) == [master]
    assert condition["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    # No other statement names the master secret: the function cannot write it.
    assert [s["Sid"] for s in policy if master in json.dumps(s)] == [
        "ReadTheDatabaseMasterSecret",
        "DecryptTheDatabaseMasterSecret",
    ]


def test_exports_name_the_instance_and_its_group(platform):
    instance = platform.one(INSTANCE)
    assert platform.exports["databaseEndpoint"] == instance.state["address"]
    assert platform.exports["databasePort"] == 5432
    assert platform.exports["databaseSecurityGroupId"] == database_group(platform).id
    secret = reveal(
        next(
            v.inputs["secretString"]
            for v in platform.all("aws:secretsmanager/secretVersion:SecretVersion")
            if "database-connection" in v.name
        )
    )
    assert json.loads(secret)["host"] == platform.exports["databaseEndpoint"]


def test_the_deployer_may_make_every_call_of_the_production_like_database_final_snapshot_included(
    network, production_like
):
    from deploy.provider_calls import PlanIndex, load_table, planned_calls
    from offline.layer_projects import REPO_ROOT
    from policy.iam_eval import decide

    policies = [
        json.loads(p.read_text()) for p in sorted((REPO_ROOT / "deploy" / "iam").glob("deployer-*.json"))
    ]
    table = load_table()
    plan = PlanIndex([network, production_like])
    calls = [
        call
        for resource in plan.resources()
        if resource.type.startswith("aws:rds/")
        for call in planned_calls(resource, plan, table)
    ]
    snapshot = [c for c in calls if c.request.action == "rds:CreateDBSnapshot"]
    assert [c.request.resource for c in snapshot] == [
        "arn:aws:rds:us-east-1:123456789012:snapshot:rds-final-ledger-prod"
    ]
    assert [c.describe() for c in calls if decide(policies, c.request) != "allowed"] == []


def warnings_of(monkeypatch, network, config) -> list[str]:
    """The warnings `up` and preview print for the platform layer with `config`."""
    upstream = {Layer("network").stack_name("dev"): network.exports}
    return evaluate_layer("platform", config=config, upstream=upstream).warnings


def test_keeping_a_final_snapshot_warns_that_destroy_deletes_its_key(monkeypatch, network):
    config = {**PRODUCTION_LIKE, "kmsDeletionWindowDays": 10}
    [warning] = [w for w in warnings_of(monkeypatch, network, config) if "databaseSkipFinalSnapshot" in w]
    assert "rds-final-ledger-prod" in warning
    assert "kmsDeletionWindowDays: 10 days" in warning
    assert "point-in-time recovery" in warning
    assert "aws rds copy-db-snapshot" in warning
    assert "--kms-key-id <a key that outlives the stack>" in warning
    assert "aws kms cancel-key-deletion" in warning
    dev = warnings_of(monkeypatch, network, {"environmentSuffix": "dev"})
    assert not [w for w in dev if "databaseSkipFinalSnapshot" in w]


def test_the_plan_shows_the_final_snapshot_finding_for_the_production_like_stack(production_like, platform):
    findings = check({"platform": production_like}, "prod")
    [rule] = [r for r in findings if r.rule.name == "final-snapshot-restorable"]
    assert rule.rule.enforcement == "advisory"
    [violation] = rule.violations
    assert "rds-final-ledger-prod" in violation
    assert "copy-db-snapshot --kms-key-id" in violation
    [dev] = [r for r in check({"platform": platform}, "dev") if r.rule.name == "final-snapshot-restorable"]
    assert dev.passed
