"""template.yaml and the monthly-run ASL: lint-clean, consistent, and runnable on moto."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from psa_billing_dev.local.hook import resolve_handler
from psa_billing_dev.local.stack import substitute_definition
from psa_billing_dev.local.template import (
    Resolver,
    TemplateError,
    build_resolver,
    load_template,
    local_handler,
    local_resources,
    repo_root,
    resources_of_type,
)

ROOT = repo_root()
TEMPLATE = ROOT / "template.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"

# Features moto's Step Functions engine cannot run (moto-local-aws.md, section 2).
FORBIDDEN_KEYS = {
    "ItemBatcher",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ResultWriter",
    "Assign",
    "QueryLanguage",
    "Arguments",
    "Output",
}
TRANSIENT_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"]["MonthlyRunStateMachine"]
    return resource


@pytest.fixture(scope="module")
def asl_text(state_machine: dict[str, Any]) -> str:
    return (ROOT / state_machine["Properties"]["DefinitionUri"]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(asl_text)
    return definition


def walk_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Map item processors and Parallel branches."""
    for name, state in states.items():
        yield name, state
        for processor in (state.get("ItemProcessor"), state.get("Iterator")):
            if processor:
                yield from walk_states(processor["States"])
        for branch in state.get("Branches", []):
            yield from walk_states(branch["States"])


def walk_keys(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_keys(item)


# --------------------------------------------------------------------------- template


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_handler_is_importable(template: dict[str, Any]) -> None:
    names = local_resources(TEMPLATE)
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert set(names.function_handlers) == set(functions)
    for logical_id, dotted in names.function_handlers.items():
        assert callable(resolve_handler(dotted)), f"{logical_id}: {dotted}"


def test_handler_path_is_code_uri_plus_handler() -> None:
    assert (
        local_handler("functions/monthly_run/", "app.bill_customer")
        == "functions.monthly_run.app.bill_customer"
    )
    assert local_handler("./functions/api", "app.handler") == "functions.api.app.handler"


def test_one_daily_rule_wakes_the_schedule_and_the_state_machine_has_none(
    state_machine: dict[str, Any],
) -> None:
    assert not state_machine["Properties"].get("Events")
    template = load_template()
    (event,) = template["Resources"]["ScheduleRunsFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "cron(15 0 * * ? *)"  # every day, 00:15 UTC


def test_state_machine_policy_names_itself_without_a_circular_ref(
    state_machine: dict[str, Any],
) -> None:
    # Distributed Map starts child executions of its own state machine: the policy must
    # name it through the explicit Name, never via !Ref/!GetAtt of itself.
    props = state_machine["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-monthly-run"}
    assert "MonthlyRunStateMachine" not in json.dumps(props["Policies"])


def test_local_names_come_from_the_template() -> None:
    names = local_resources(TEMPLATE)
    assert names.data_table == "psa-billing-local-data"
    assert names.statements_bucket == "psa-billing-local-statements-123456789012"
    assert names.state_machine_arn == (
        "arn:aws:states:us-east-1:123456789012:stateMachine:psa-billing-local-monthly-run"
    )
    assert names.functions["BillCustomerFunction"] == "psa-billing-local-BillCustomerFunction"
    assert names.function_arn("PlanRunFunction") == (
        "arn:aws:lambda:us-east-1:123456789012:function:psa-billing-local-PlanRunFunction"
    )
    assert (names.sender_email, names.sender_domain) == ("billing@msp.example", "msp.example")


def test_overrides_change_parameters_and_pseudo_parameters() -> None:
    names = local_resources(TEMPLATE, {"AWS::StackName": "other", "SenderEmail": "acc@example.org"})
    assert names.data_table == "other-data"
    assert names.sender_email == "acc@example.org"
    with pytest.raises(TemplateError, match="no such parameter"):
        local_resources(TEMPLATE, {"NotAParameter": "x"})


def test_short_tags_load_as_long_form(template: dict[str, Any]) -> None:
    props = template["Resources"]["MonthlyRunStateMachine"]["Properties"]
    assert props["DefinitionSubstitutions"]["PlanRunFunctionArn"] == {
        "Fn::GetAtt": ["PlanRunFunction", "Arn"]
    }
    assert props["DefinitionSubstitutions"]["MapMaxConcurrency"] == {"Ref": "MapMaxConcurrency"}


def test_resolver_evaluates_intrinsics() -> None:
    template = {
        "Resources": {},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    }
    resolver = Resolver(template, {"Stage": "dev", "AWS::Region": "us-east-1"}, {"Res": "r-1"})
    assert resolver.resolve({"Fn::Sub": "${Res}/${!Literal}/${AWS::Region}"}) == (
        "r-1/${Literal}/us-east-1"
    )
    assert resolver.resolve({"Fn::Sub": ["${X}-${Stage}", {"X": {"Ref": "Res"}}]}) == "r-1-dev"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}) is None
    assert resolver.resolve({"k": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}}) == {}
    with pytest.raises(TemplateError, match="ImportValue"):
        resolver.resolve({"Fn::ImportValue": "x"})


def test_resolver_knows_every_substitution_locally(
    template: dict[str, Any], state_machine: dict[str, Any]
) -> None:
    resolver = build_resolver(template)
    resolved = resolver.resolve(state_machine["Properties"]["DefinitionSubstitutions"])
    assert resolved["MapMaxConcurrency"] == "10"  # the local default; AWS uses the template's 100
    assert template["Parameters"]["MapMaxConcurrency"]["Default"] == 100
    assert resolved["CloseRunFunctionArn"].endswith(":function:psa-billing-local-CloseRunFunction")


# --------------------------------------------------------------------------- ASL


def test_substitutions_match_the_definition(asl_text: str, state_machine: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", asl_text))
    declared = set(state_machine["Properties"]["DefinitionSubstitutions"])
    assert used == declared


def test_substituted_definition_is_valid_json(
    template: dict[str, Any], asl_text: str, state_machine: dict[str, Any]
) -> None:
    resolver = build_resolver(template)
    subs = resolver.resolve(state_machine["Properties"]["DefinitionSubstitutions"])
    definition = json.loads(substitute_definition(asl_text, subs))
    configure = definition["States"]["ConfigureMap"]
    assert configure["Parameters"]["maxConcurrency.$"] == "States.StringToJson('10')"


def _local_definition(
    template: dict[str, Any], asl_text: str, state_machine: dict[str, Any]
) -> str:
    """The definition as the local stack creates it (local parameter defaults applied)."""
    subs = build_resolver(template).resolve(state_machine["Properties"]["DefinitionSubstitutions"])
    return substitute_definition(asl_text, subs)


def test_definition_avoids_what_moto_cannot_run(
    template: dict[str, Any], asl: dict[str, Any], asl_text: str, state_machine: dict[str, Any]
) -> None:
    used = {key for key, _ in walk_keys(asl)} & FORBIDDEN_KEYS
    assert not used, f"moto cannot run: {used}"
    local = _local_definition(template, asl_text, state_machine)
    assert '"EXPRESS"' not in local, "moto runs only STANDARD Map children"
    assert "{%" not in asl_text, "JSONata expressions"
    assert "states:startExecution" not in asl_text, "nested state machines"


def test_map_children_are_express_on_aws_and_standard_locally(
    template: dict[str, Any], asl: dict[str, Any], asl_text: str, state_machine: dict[str, Any]
) -> None:
    config = asl["States"]["BillBatches"]["ItemProcessor"]["ProcessorConfig"]
    assert config == {"Mode": "DISTRIBUTED", "ExecutionType": "${MapChildExecutionType}"}
    assert template["Parameters"]["MapChildExecutionType"]["Default"] == "EXPRESS"
    local = json.loads(_local_definition(template, asl_text, state_machine))
    local_config = local["States"]["BillBatches"]["ItemProcessor"]["ProcessorConfig"]
    assert local_config["ExecutionType"] == "STANDARD"


def test_billing_is_a_distributed_map_over_batches_with_an_inline_map_per_batch(
    asl: dict[str, Any],
) -> None:
    outer = asl["States"]["BillBatches"]
    assert outer["Type"] == "Map"
    assert outer["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert outer["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert outer["ItemSelector"]["customers.$"] == "$$.Map.Item.Value.customers"
    assert outer["ResultPath"] is None
    assert outer["MaxConcurrencyPath"] == "$.map.maxConcurrency"
    assert outer["Catch"][0]["Next"] == "CloseRun"
    inner = outer["ItemProcessor"]["States"]["BillCustomers"]
    assert inner["Type"] == "Map" and inner["ItemsPath"] == "$.customers"
    assert inner["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    # A batch's output stays tiny whatever its customers did (Step Functions' 256 KB limit).
    assert inner["ResultPath"] is None and inner["OutputPath"] is None


def _customer_states(asl: dict[str, Any]) -> dict[str, Any]:
    batch = asl["States"]["BillBatches"]["ItemProcessor"]["States"]["BillCustomers"]
    states: dict[str, Any] = batch["ItemProcessor"]["States"]
    return states


def test_every_task_invokes_a_substituted_lambda_and_retries_transient_errors(
    asl: dict[str, Any],
) -> None:
    tasks = {name: s for name, s in walk_states(asl["States"]) if s["Type"] == "Task"}
    assert set(tasks) == {"PlanRun", "Bill", "Render", "Send", "RecordFailure", "CloseRun"}
    for name, task in tasks.items():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke", name
        assert re.fullmatch(r"\$\{\w+FunctionArn\}", task["Parameters"]["FunctionName"]), name
        (retry,) = task["Retry"]
        assert set(retry["ErrorEquals"]) == TRANSIENT_ERRORS, name
    for name in ("PlanRun", "CloseRun"):
        assert tasks[name]["OutputPath"] == "$.Payload", name


def test_each_customer_step_gets_only_its_own_payload_and_keeps_the_run_context(
    asl: dict[str, Any],
) -> None:
    states = _customer_states(asl)
    payloads = {
        name: set(states[name]["Parameters"]["Payload"])
        for name in ("Bill", "Render", "Send", "RecordFailure")
    }
    assert payloads == {
        # billed: the customer has a statement; the bill step reports its late time
        "Bill": {"runId.$", "period.$", "orgId.$", "customerId.$", "billed.$"},
        "Render": {"statementId.$", "revision.$", "statement.$"},
        "Send": {"statementId.$", "revision.$", "pdfKey.$", "again"},
        "RecordFailure": {"runId.$", "orgId.$", "customerId.$", "error.$", "billed.$"},
    }
    assert [states[n]["ResultPath"] for n in ("Bill", "Render", "Send")] == [
        "$.bill",
        "$.render",
        "$.send",
    ]


def test_a_failing_customer_is_recorded_and_the_run_carries_on(asl: dict[str, Any]) -> None:
    inner = _customer_states(asl)
    for name in ("Bill", "Render", "Send"):
        (catch,) = inner[name]["Catch"]
        assert catch == {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.error",
            "Next": "RecordFailure",
        }
    assert "Catch" not in inner["RecordFailure"]
    assert inner["RecordFailure"]["End"] is True
