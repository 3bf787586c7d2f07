"""The local stack: moto in-process, bootstrapped from template.yaml, Lambda via the hook.

The real monthly state machine is not executed here (that is the end-to-end suite's job);
a tiny state machine proves that Step Functions reaches handlers through the hook.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
import pytest

from psa_billing_dev.local.stack import RunningStack, is_stack_ready, start_local_stack

from . import _handlers

pytestmark = pytest.mark.local_stack

STUB_ZIP = b"PK\x05\x06" + b"\x00" * 18


@pytest.fixture(scope="module")
def stack(local_stack: RunningStack) -> RunningStack:
    """The session's stack (tests/conftest.py starts it with start_local_stack(port=0)):
    moto keeps its state in module globals, so one process holds one stack."""
    return local_stack


@pytest.fixture(scope="module")
def lam(stack: RunningStack) -> Any:
    return boto3.client("lambda", endpoint_url=stack.endpoint)


@pytest.fixture(scope="module")
def sfn(stack: RunningStack) -> Any:
    return boto3.client("stepfunctions", endpoint_url=stack.endpoint)


@pytest.fixture(scope="module")
def role_arn(stack: RunningStack, lam: Any) -> str:
    fn = lam.get_function(FunctionName=stack.resources.functions["ApiFunction"])
    role: str = fn["Configuration"]["Role"]
    return role


@pytest.fixture(scope="module")
def test_functions(stack: RunningStack, lam: Any, role_arn: str) -> dict[str, str]:
    """Extra functions whose handlers live in tests/integration/_handlers.py."""
    arns = {}
    for name in ("echo", "fail", "describe_context"):
        created = lam.create_function(
            FunctionName=f"test-{name}",
            Runtime="python3.13",
            Role=role_arn,
            Handler=f"{_handlers.__name__}.{name}",
            Code={"ZipFile": STUB_ZIP},
            MemorySize=256,
            Timeout=30,
        )
        arns[name] = created["FunctionArn"]
    return arns


def invoke(lam: Any, arn: str, payload: Any) -> tuple[Any, str | None]:
    response = lam.invoke(FunctionName=arn, Payload=json.dumps(payload).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def run_to_end(sfn: Any, state_machine_arn: str, payload: Any) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(payload))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    pytest.fail("execution still RUNNING after 60 s")


# --------------------------------------------------------------------------- bootstrap


def test_stack_is_ready(stack: RunningStack) -> None:
    assert stack.endpoint == f"http://127.0.0.1:{stack.port}"
    assert is_stack_ready(stack.endpoint)
    assert not is_stack_ready("http://127.0.0.1:9")


def test_a_second_stack_in_the_same_process_is_refused(stack: RunningStack) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        start_local_stack(port=0)
    assert is_stack_ready(stack.endpoint)


def test_table_has_both_gsis(stack: RunningStack) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=stack.endpoint)
    table = ddb.describe_table(TableName=stack.resources.data_table)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"gsi1", "gsi2"}
    assert [k["AttributeName"] for k in indexes["gsi2"]["KeySchema"]] == ["gsi2pk", "gsi2sk"]
    assert indexes["gsi1"]["Projection"]["ProjectionType"] == "ALL"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_bucket_is_versioned_and_encrypted(stack: RunningStack) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.endpoint)
    bucket = stack.resources.statements_bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_functions_exist_with_local_handlers_and_environment(stack: RunningStack, lam: Any) -> None:
    res = stack.resources
    for logical_id, name in res.functions.items():
        config = lam.get_function_configuration(FunctionName=name)
        assert config["Handler"] == res.function_handlers[logical_id]
        assert config["Runtime"] == "python3.13"
        env = config["Environment"]["Variables"]
        assert env["DATA_TABLE"] == res.data_table
        assert env["STATEMENTS_BUCKET"] == res.statements_bucket
        # Each function gets only the settings its code reads: mail only where mail is sent.
        assert ("SENDER_EMAIL" in env) == (logical_id == "SendStatementFunction"), logical_id
    send = lam.get_function_configuration(FunctionName=res.functions["SendStatementFunction"])
    assert send["Environment"]["Variables"]["SENDER_EMAIL"] == res.sender_email
    api = lam.get_function_configuration(FunctionName=res.functions["ApiFunction"])
    assert api["Environment"]["Variables"]["STATE_MACHINE_ARN"] == res.state_machine_arn
    assert api["Environment"]["Variables"]["USER_POOL_ID"] == res.user_pool_id
    render = lam.get_function_configuration(FunctionName=res.functions["RenderStatementFunction"])
    assert render["MemorySize"] == 1024


def test_process_environment_is_the_functions_environment(stack: RunningStack) -> None:
    res = stack.resources
    assert os.environ["DATA_TABLE"] == res.data_table
    assert os.environ["STATEMENTS_BUCKET"] == res.statements_bucket
    assert os.environ["STATE_MACHINE_ARN"] == res.state_machine_arn
    assert os.environ["USER_POOL_CLIENT_ID"] == res.user_pool_client_id
    assert "AWS_ENDPOINT_URL" not in os.environ  # this process reaches moto in-process
    assert os.environ["MOTO_PORT"] == str(stack.port)
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    assert os.environ["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_state_machine_and_schedule_exist(stack: RunningStack, sfn: Any) -> None:
    res = stack.resources
    described = sfn.describe_state_machine(stateMachineArn=res.state_machine_arn)
    assert described["name"] == res.state_machine_name
    definition = json.loads(described["definition"])
    bill = definition["States"]["PlanRun"]["Parameters"]["FunctionName"]
    assert bill == res.function_arn("PlanRunFunction")
    events = boto3.client("events", endpoint_url=stack.endpoint)
    (rule,) = events.list_rules(NamePrefix=res.stack_name)["Rules"]
    assert rule["ScheduleExpression"] == "cron(15 0 * * ? *)"
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == res.function_arn("ScheduleRunsFunction")


def test_cognito_pool_client_and_group(stack: RunningStack) -> None:
    idp = boto3.client("cognito-idp", endpoint_url=stack.endpoint)
    res = stack.resources
    pool = idp.describe_user_pool(UserPoolId=res.user_pool_id)["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["MfaConfiguration"] == "OPTIONAL"
    mfa = idp.get_user_pool_mfa_config(UserPoolId=res.user_pool_id)
    assert mfa["SoftwareTokenMfaConfiguration"]["Enabled"] is True
    client = idp.describe_user_pool_client(
        UserPoolId=res.user_pool_id, ClientId=res.user_pool_client_id
    )["UserPoolClient"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    groups = idp.list_groups(UserPoolId=res.user_pool_id)["Groups"]
    assert groups == []  # roles are DynamoDB memberships, not Cognito groups


def test_sender_is_verified(stack: RunningStack) -> None:
    ses = boto3.client("ses", endpoint_url=stack.endpoint)
    identities = set(ses.list_identities()["Identities"])
    assert {stack.resources.sender_domain, stack.resources.sender_email} <= identities


# --------------------------------------------------------------------------- the hook


def test_invoke_runs_the_handler_in_process(lam: Any, test_functions: dict[str, str]) -> None:
    payload, error = invoke(lam, test_functions["echo"], {"customerId": "c-42", "n": [1, 2]})
    assert error is None
    assert payload == {"customerId": "c-42", "n": [1, 2]}


def test_unhandled_exception_is_reported_like_lambda(
    lam: Any, test_functions: dict[str, str]
) -> None:
    payload, error = invoke(lam, test_functions["fail"], {"x": 1})
    assert error == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad input: {'x': 1}"
    assert isinstance(payload["stackTrace"], list)


def test_context_satisfies_powertools(lam: Any, test_functions: dict[str, str]) -> None:
    payload, error = invoke(lam, test_functions["describe_context"], {})
    assert error is None, payload
    assert payload["function_name"] == "test-describe_context"
    assert payload["function_version"] == "$LATEST"
    assert payload["invoked_function_arn"] == test_functions["describe_context"]
    assert payload["memory_limit_in_mb"] == 256
    assert payload["log_group_name"] == "/aws/lambda/test-describe_context"
    assert 0 < payload["remaining_ms"] <= 30_000
    assert len(payload["aws_request_id"]) == 36


def test_async_invoke_is_accepted(lam: Any, test_functions: dict[str, str]) -> None:
    response = lam.invoke(
        FunctionName=test_functions["echo"], InvocationType="Event", Payload=b"{}"
    )
    assert response["StatusCode"] == 202


# --------------------------------------------------------------------------- Step Functions


def test_state_machine_reaches_the_handler(
    sfn: Any, role_arn: str, test_functions: dict[str, str]
) -> None:
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Parameters": {"customerId.$": "$.customerId", "stage": "prepared"},
                "Next": "Echo",
            },
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": test_functions["echo"], "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            },
        },
    }
    machine = sfn.create_state_machine(
        name="test-echo", definition=json.dumps(definition), roleArn=role_arn
    )
    result = run_to_end(sfn, machine["stateMachineArn"], {"customerId": "c-7", "ignored": 1})
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"customerId": "c-7", "stage": "prepared"}


def test_catch_sees_the_exception_class_name(
    sfn: Any, role_arn: str, test_functions: dict[str, str]
) -> None:
    definition = {
        "StartAt": "Fail",
        "States": {
            "Fail": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": test_functions["fail"], "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name="test-catch", definition=json.dumps(definition), roleArn=role_arn
    )
    result = run_to_end(sfn, machine["stateMachineArn"], {"customerId": "c-8"})
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["error"]["Error"] == "ValueError"
    assert (
        json.loads(output["error"]["Cause"])["errorMessage"] == "bad input: {'customerId': 'c-8'}"
    )
