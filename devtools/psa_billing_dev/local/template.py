"""Read template.yaml for the local stack: short tags, intrinsic functions, local names.

The local stack is bootstrapped through the AWS APIs (moto's CloudFormation cannot apply the
SAM transform, and state machines it creates are invisible to the executing Step Functions
engine; see docs/reference moto-local-aws.md section 7), so this module is the one place that
knows how template.yaml maps to physical names when there is no CloudFormation.

Everything here is pure: no network, no environment variables.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

import psa_billing

LOCAL_STACK_NAME: Final = "psa-billing-local"
LOCAL_REGION: Final = "us-east-1"
LOCAL_ACCOUNT_ID: Final = "123456789012"

PSEUDO_PARAMETER_DEFAULTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AWS::StackName": LOCAL_STACK_NAME,
        "AWS::Region": LOCAL_REGION,
        "AWS::AccountId": LOCAL_ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": (
            f"arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}"
            f":stack/{LOCAL_STACK_NAME}/00000000-0000-0000-0000-000000000000"
        ),
    }
)

# Locally the functions log at WARNING so that CLI and demo output stay readable, and
# the Map runs 10 customers at a time: every "Lambda" shares one Python process (one
# GIL) with the moto server, and 100 concurrent handlers only make requests time out.
# An explicit override ({"LogLevel": "DEBUG"}) still wins.
LOCAL_PARAMETER_DEFAULTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "LogLevel": "WARNING",
        "MapMaxConcurrency": "10",
        # moto's engine runs only STANDARD Map children (its ASL parser refuses EXPRESS).
        "MapChildExecutionType": "STANDARD",
        # Locally the InvoiceNinja token is an environment variable (the stand-in's).
        "InvoiceNinjaTokenParameter": "",
    }
)

# Logical ids the rest of the code relies on (template.yaml must keep them).
DATA_TABLE_ID: Final = "DataTable"
STATEMENTS_BUCKET_ID: Final = "StatementsBucket"
STATE_MACHINE_ID: Final = "MonthlyRunStateMachine"
USER_POOL_ID: Final = "UserPool"
USER_POOL_CLIENT_ID: Final = "UserPoolClient"
SES_CONFIGURATION_SET_ID: Final = "StatementMailConfigurationSet"

_NO_VALUE: Final = object()  # AWS::NoValue: the enclosing key or list item disappears


class TemplateError(Exception):
    """template.yaml is missing, or uses something the local stack cannot resolve."""


# --------------------------------------------------------------------------- loading

_SHORT_TAGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Ref": "Ref",
        "Condition": "Condition",
        **{
            tag: f"Fn::{tag}"
            for tag in (
                "Sub",
                "GetAtt",
                "Join",
                "If",
                "Equals",
                "Select",
                "Split",
                "Not",
                "And",
                "Or",
                "FindInMap",
                "Base64",
                "ImportValue",
                "GetAZs",
                "Cidr",
                "Length",
                "ToJsonString",
            )
        },
    }
)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long-form dicts."""


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    long_name = _SHORT_TAGS.get(tag_suffix)
    if long_name is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown CloudFormation tag !{tag_suffix}", node.start_mark
        )
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        # !GetAtt Res.Attr is the short form of ["Res", "Attr"].
        if long_name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {long_name: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def repo_root() -> Path:
    """The repository root (shared/psa_billing/__init__.py -> repo)."""
    return Path(psa_billing.__file__).resolve().parents[2]


def default_template_path() -> Path:
    path = repo_root() / "template.yaml"
    if not path.is_file():
        raise TemplateError(
            f"template.yaml not found at {path}: the local stack reads the SAM template from the "
            "repository root, so psa_billing must be installed editable from the repository "
            "(pip install -e .) or template_path must be given"
        )
    return path


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, short tags included."""
    path = path or default_template_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TemplateError(f"template not found: {path}") from exc
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return data


# --------------------------------------------------------------------------- resolving

_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameters and the local physical names.

    `refs` maps a logical id to what `Ref` returns; `attributes` maps (logical id, attribute)
    to what `Fn::GetAtt` returns. Both can grow while the stack is bootstrapped (a user pool's
    id is known only once it exists).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        refs: Mapping[str, str] | None = None,
        attributes: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.refs: dict[str, str] = dict(refs or {})
        self.attributes: dict[tuple[str, str], str] = dict(attributes or {})

    # -- public

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value` (dicts and lists recursively)."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def resolve_str(self, value: Any) -> str:
        result = self.resolve(value)
        if isinstance(result, bool):
            return "true" if result else "false"
        if isinstance(result, int | float | str):
            return str(result)
        raise TemplateError(f"expected a string, got {result!r} from {value!r}")

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self._resolve(conditions[name]))

    # -- internals

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _intrinsic(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self._ref(self._resolve(arg))
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else self._resolve(arg)
            return self._get_att(str(parts[0]), str(parts[1]))
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::Join":
            delimiter, items = arg
            return str(delimiter).join(self._as_str(item) for item in self._resolve(items))
        if name == "Fn::Select":
            index, items = self._resolve(arg)
            return items[int(index)]
        if name == "Fn::Split":
            delimiter, source = self._resolve(arg)
            return str(source).split(str(delimiter))
        if name == "Fn::If":
            condition_name, when_true, when_false = arg
            return self._resolve(when_true if self.condition(condition_name) else when_false)
        if name == "Fn::Equals":
            left, right = self._resolve(arg)
            return self._as_str(left) == self._as_str(right)
        if name == "Fn::Not":
            (inner,) = self._resolve(arg)
            return not inner
        if name == "Fn::And":
            return all(self._resolve(arg))
        if name == "Fn::Or":
            return any(self._resolve(arg))
        if name == "Fn::FindInMap":
            map_name, top_key, second_key = self._resolve(arg)
            try:
                return self.template["Mappings"][map_name][top_key][second_key]
            except KeyError as exc:
                raise TemplateError(f"Fn::FindInMap: no {arg!r} in Mappings") from exc
        if name == "Fn::Base64":
            return base64.b64encode(self._as_str(self._resolve(arg)).encode()).decode()
        if name == "Fn::ImportValue":
            raise TemplateError("Fn::ImportValue cannot be resolved locally (no other stacks)")
        raise TemplateError(f"{name} is not supported by the local stack")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in (self.template.get("Resources") or {}):
            raise TemplateError(
                f"Ref {name}: its physical id is not known yet "
                "(create the resource before anything that refers to it)"
            )
        raise TemplateError(f"Ref {name}: no such parameter, pseudo parameter or resource")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute} is not known to the local stack"
            ) from None

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self._resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} -> ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return self._as_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return self._as_str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))

    @staticmethod
    def _as_str(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise TemplateError(f"expected a string, got {value!r}")


# --------------------------------------------------------------------------- local names


@dataclass(frozen=True)
class LocalResources:
    """Physical names of the local stack, derived from template.yaml alone.

    Another process (the CLI, a test) can compute these without talking to the server.
    """

    stack_name: str
    region: str
    account_id: str
    parameters: Mapping[str, str]
    data_table: str
    statements_bucket: str
    state_machine_name: str
    state_machine_arn: str
    functions: Mapping[str, str]
    """Function name by logical id."""
    function_handlers: Mapping[str, str]
    """Local handler (dotted path, e.g. functions.monthly_run.app.bill_customer) by logical id."""
    sender_email: str
    sender_domain: str
    ses_configuration_set: str
    """The statement mails' SES configuration set (its event destination is not
    emulated: `psa-billing local bounce` stands in for it)."""

    def function_arn(self, logical_id: str) -> str:
        return lambda_arn(self.region, self.account_id, self.functions[logical_id])


def lambda_arn(region: str, account_id: str, function_name: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"


def state_machine_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:states:{region}:{account_id}:stateMachine:{name}"


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    """Logical id -> resource (in template order) of every resource of one type."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == resource_type
    }


def local_handler(code_uri: str, handler: str) -> str:
    """The dotted path of a handler when run from the repository rather than a Lambda zip.

    CodeUri "functions/monthly_run/" + Handler "app.bill_customer"
    -> "functions.monthly_run.app.bill_customer".
    """
    package = ".".join(part for part in Path(code_uri).parts if part not in ("", "."))
    return f"{package}.{handler}" if package else handler


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function merged in, as SAM does.

    Maps merge (the function wins), lists concatenate (globals first), scalars are replaced.
    """
    globals_ = dict(((template.get("Globals") or {}).get("Function")) or {})
    own = dict(template["Resources"][logical_id].get("Properties") or {})
    merged: dict[str, Any] = _merge_globals(globals_, own)
    return merged


def _merge_globals(globals_: Any, own: Any) -> Any:
    if isinstance(globals_, dict) and isinstance(own, dict):
        is_intrinsic = len(own) == 1 and next(iter(own)).startswith(("Fn::", "Ref"))
        if is_intrinsic:
            return own
        merged = dict(globals_)
        for key, value in own.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(own, list):
        return [*globals_, *own]
    return own


def template_parameters(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Pseudo parameters + template defaults + local defaults + overrides.

    Keys of `overrides` that start with "AWS::" replace pseudo parameters (e.g. AWS::StackName).
    """
    values = dict(PSEUDO_PARAMETER_DEFAULTS)
    declared = template.get("Parameters") or {}
    for name, spec in declared.items():
        if "Default" in spec:
            values[name] = str(spec["Default"])
    for name, value in LOCAL_PARAMETER_DEFAULTS.items():
        if name in declared:
            values[name] = value
    for name, value in (overrides or {}).items():
        if name not in declared and not name.startswith("AWS::"):
            raise TemplateError(f"override {name!r}: the template declares no such parameter")
        values[name] = str(value)
    missing = [name for name in declared if name not in values]
    if missing:
        raise TemplateError(f"parameters without a default need an override: {missing}")
    return values


def build_resolver(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> Resolver:
    """A resolver that knows every physical name that does not depend on the server.

    Cognito ids are only known once the pool exists; the stack adds them to `refs` then.
    """
    resolver = Resolver(template, template_parameters(template, overrides))
    p = resolver.parameters
    stack, region, account = p["AWS::StackName"], p["AWS::Region"], p["AWS::AccountId"]

    def named(props: Mapping[str, Any], key: str, default: str) -> str:
        return resolver.resolve_str(props[key]) if key in props else default

    for logical_id, resource in (template.get("Resources") or {}).items():
        rtype = resource.get("Type", "")
        props = resource.get("Properties") or {}
        refs, atts = resolver.refs, resolver.attributes
        if rtype == "AWS::DynamoDB::Table":
            name = named(props, "TableName", f"{stack}-{logical_id}")
            refs[logical_id] = name
            atts[(logical_id, "Arn")] = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        elif rtype == "AWS::S3::Bucket":
            name = named(props, "BucketName", f"{stack}-{logical_id}".lower())
            refs[logical_id] = name
            atts[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
            atts[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
        elif rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            name = named(props, "FunctionName", f"{stack}-{logical_id}")
            refs[logical_id] = name
            atts[(logical_id, "Arn")] = lambda_arn(region, account, name)
        elif rtype in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            name = named(props, "Name", named(props, "StateMachineName", f"{stack}-{logical_id}"))
            arn = state_machine_arn(region, account, name)
            refs[logical_id] = arn
            atts[(logical_id, "Arn")] = arn
            atts[(logical_id, "Name")] = name
        elif rtype == "AWS::Serverless::LayerVersion":
            name = named(props, "LayerName", f"{stack}-{logical_id}")
            refs[logical_id] = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
        elif rtype == "AWS::Logs::LogGroup":
            name = named(props, "LogGroupName", f"/{stack}/{logical_id}")
            refs[logical_id] = name
            atts[(logical_id, "Arn")] = f"arn:aws:logs:{region}:{account}:log-group:{name}:*"
        elif rtype == "AWS::SES::EmailIdentity":
            refs[logical_id] = resolver.resolve_str(props["EmailIdentity"])
        elif rtype == "AWS::SES::ConfigurationSet":
            refs[logical_id] = named(props, "Name", f"{stack}-{logical_id}")
        elif rtype == "AWS::SNS::Topic":
            name = named(props, "TopicName", f"{stack}-{logical_id}")
            refs[logical_id] = f"arn:aws:sns:{region}:{account}:{name}"
            atts[(logical_id, "TopicName")] = name
        elif rtype in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api"):
            # Not emulated locally (the API runs in-process); only Outputs refer to it.
            refs[logical_id] = "local-api"
    return resolver


def local_resources(
    template_path: Path | None = None, overrides: Mapping[str, str] | None = None
) -> LocalResources:
    """The local stack's names, from template.yaml alone (no server needed)."""
    template = load_template(template_path)
    resolver = build_resolver(template, overrides)
    p = resolver.parameters
    for required in (DATA_TABLE_ID, STATEMENTS_BUCKET_ID, STATE_MACHINE_ID):
        if required not in resolver.refs:
            raise TemplateError(f"template.yaml has no resource {required!r}")
    functions = resources_of_type(template, "AWS::Serverless::Function")
    handlers = {}
    for logical_id in functions:
        props = function_properties(template, logical_id)
        handlers[logical_id] = local_handler(str(props["CodeUri"]), str(props["Handler"]))
    return LocalResources(
        stack_name=p["AWS::StackName"],
        region=p["AWS::Region"],
        account_id=p["AWS::AccountId"],
        parameters=MappingProxyType(dict(p)),
        data_table=resolver.refs[DATA_TABLE_ID],
        statements_bucket=resolver.refs[STATEMENTS_BUCKET_ID],
        state_machine_name=resolver.attributes[(STATE_MACHINE_ID, "Name")],
        state_machine_arn=resolver.refs[STATE_MACHINE_ID],
        functions=MappingProxyType({lid: resolver.refs[lid] for lid in functions}),
        function_handlers=MappingProxyType(handlers),
        sender_email=p.get("SenderEmail", ""),
        sender_domain=p.get("SenderDomain", ""),
        ses_configuration_set=resolver.refs.get(SES_CONFIGURATION_SET_ID, ""),
    )
