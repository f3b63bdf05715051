"""The integration test's AWS checks, against moto: what counts as left behind, and where tasks run."""

from __future__ import annotations

import json

import boto3
import pytest

from deploy.task_definitions import families, remove_revisions
from deploy.verify import http_answer, leftovers, running_tasks
from tests.aws_fakes import REGION


def clients(service):
    return boto3.client(service, region_name=REGION)


def test_nothing_with_the_suffix_is_reported_in_an_empty_account(aws):
    assert leftovers(clients, "it-ab12") == []


def test_roles_log_groups_repositories_and_tagged_resources_with_the_suffix_are_left_overs(aws):
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    clients("iam").create_role(RoleName="role-api-gateway-task-it-ab12", AssumeRolePolicyDocument=trust)
    clients("iam").create_role(RoleName="role-api-gateway-task-dev", AssumeRolePolicyDocument=trust)
    clients("logs").create_log_group(logGroupName="/ecs/api-gateway-it-ab12")
    clients("ecr").create_repository(repositoryName="ecr-fraud-detector-it-ab12")
    vpc = clients("ec2").create_vpc(
        CidrBlock="10.9.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Environment", "Value": "it-ab12"}]}],
    )["Vpc"]["VpcId"]
    found = leftovers(clients, "it-ab12")
    assert any(arn.endswith(":role/role-api-gateway-task-it-ab12") for arn in found)
    assert not any("-dev" in arn for arn in found)
    assert any("/ecs/api-gateway-it-ab12" in arn for arn in found)
    assert any(arn.endswith("repository/ecr-fraud-detector-it-ab12") for arn in found)
    assert any(arn.endswith(f"vpc/{vpc}") for arn in found)


def test_task_definition_revisions_are_left_overs_until_deleted(aws):
    ecs = clients("ecs")
    container = [{"name": "app", "image": "example:1", "memory": 512}]
    first, second = (
        ecs.register_task_definition(family="task-api-gateway-it-ab12", containerDefinitions=container)[
            "taskDefinition"
        ]["taskDefinitionArn"]
        for _ in range(2)
    )
    ecs.register_task_definition(family="task-api-gateway-dev", containerDefinitions=container)
    ecs.deregister_task_definition(taskDefinition=second)
    assert leftovers(clients, "it-ab12") == sorted([first, second])
    remove_revisions(ecs, families("it-ab12"), lambda line: None)
    assert leftovers(clients, "it-ab12") == []


def test_a_key_scheduled_for_deletion_is_not_a_left_over(aws):
    kms = clients("kms")
    tags = [{"TagKey": "Environment", "TagValue": "it-ab12"}]
    pending = kms.create_key(Tags=tags)["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)  # moto takes only the id
    live = kms.create_key(Tags=tags)["KeyMetadata"]["Arn"]
    assert leftovers(clients, "it-ab12") == [live]


def test_running_tasks_report_their_network_interfaces_subnet():
    class Ecs:
        def list_tasks(self, **kwargs):
            assert kwargs == {"cluster": "ecs-cluster-it", "serviceName": "svc", "desiredStatus": "RUNNING"}
            return {"taskArns": ["arn:task/1", "arn:task/2"]}

        def describe_tasks(self, cluster, tasks):
            eni = {"type": "ElasticNetworkInterface", "details": [{"name": "subnetId", "value": "subnet-a"}]}
            return {
                "tasks": [
                    {
                        "taskArn": "arn:task/1",
                        "lastStatus": "RUNNING",
                        "availabilityZone": "us-east-1a",
                        "attachments": [eni],
                    },
                    {"taskArn": "arn:task/2", "lastStatus": "PROVISIONING", "attachments": []},
                ]
            }

    (task,) = running_tasks(Ecs(), "ecs-cluster-it", "svc")
    assert (task.arn, task.subnet_id, task.availability_zone) == ("arn:task/1", "subnet-a", "us-east-1a")


@pytest.fixture
def server():
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path == "/health" else 503
            body = json.dumps({"status": "ok" if code == 200 else "down"}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_http_answer_returns_status_and_json_even_for_errors(server):
    assert http_answer(f"{server}/health") == (200, {"status": "ok"})
    assert http_answer(f"{server}/other") == (503, {"status": "down"})
