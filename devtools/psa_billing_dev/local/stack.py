"""The local AWS stack: one moto server in this process, bootstrapped from template.yaml.

Why this shape (see the moto reference notes):
- moto's Step Functions engine only executes with `stepfunctions.execute_state_machine`, a
  config key of the server's own process, and it calls Lambda/S3 back at MOTO_PORT;
- without Docker, Lambda code runs only through the in-process hook (psa_billing_dev.local.hook);
- moto's CloudFormation cannot apply the SAM transform and hides state machines from the
  executing engine, so every resource is created through the service APIs instead.

The functions' environment (DATA_TABLE, STATEMENTS_BUCKET, ...) is copied into this process's
os.environ as well, because the handlers run here.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.config import Config
from moto.core.config import default_user_config
from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from psa_billing_dev.local import hook, moto_patches
from psa_billing_dev.local.outbox import OutboxServer, read_outbox
from psa_billing_dev.local.template import (
    STATE_MACHINE_ID,
    USER_POOL_CLIENT_ID,
    USER_POOL_ID,
    LocalResources,
    Resolver,
    TemplateError,
    build_resolver,
    default_template_path,
    function_properties,
    load_template,
    local_handler,
    local_resources,
    resources_of_type,
)

DEFAULT_PORT: Final = 4599
PORT_ENV: Final = "PSA_BILLING_LOCAL_PORT"

# Env for the handlers when they run locally: no X-Ray daemon, no EMF lines on stdout.
LOCAL_FUNCTION_ENV: Final[Mapping[str, str]] = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}

_active: str | None = None  # the running stack of this process, if any
_active_lock = threading.Lock()

# A zip is required by CreateFunction but never inspected: the code comes from sys.path.
_STUB_ZIP: Final = b"PK\x05\x06" + b"\x00" * 18
_ASSUME_ROLE: Final = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class StackResources(LocalResources):
    """LocalResources plus the ids that exist only once the server has created them."""

    user_pool_id: str
    user_pool_client_id: str


@dataclass
class RunningStack:
    """A started local stack. `stop()` also forgets its state and undoes the process setup."""

    endpoint: str
    port: int
    resources: StackResources
    startup_seconds: float
    _server: ThreadedMotoServer = field(repr=False)
    _saved: _SavedProcessState = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        _shutdown(self._server, self._saved)

    def __enter__(self) -> RunningStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


__all__ = ["RunningStack", "default_endpoint", "is_stack_ready", "read_outbox", "start_local_stack"]


def default_endpoint() -> str:
    return f"http://127.0.0.1:{os.environ.get(PORT_ENV, str(DEFAULT_PORT))}"


def is_stack_ready(
    endpoint: str | None = None,
    *,
    template_path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> bool:
    """True when a local stack answers at `endpoint` and its state machine exists."""
    names = local_resources(template_path, overrides)
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint or default_endpoint(),
        region_name=names.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        config=Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 1}),
    )
    try:
        sfn.describe_state_machine(stateMachineArn=names.state_machine_arn)
    except Exception:
        return False
    return True


def start_local_stack(
    port: int = 0,
    *,
    template_path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> RunningStack:
    """Start moto on 127.0.0.1:`port` (0 = any free port) and create the stack in it."""
    global _active  # noqa: PLW0603 - moto's state is per process, so is the stack
    with _active_lock:
        if _active is not None:
            raise RuntimeError(
                f"a local stack is already running in this process at {_active}: moto keeps "
                "its state in module globals, so stop it first"
            )
        _active = f"127.0.0.1:{port}"
    try:
        return _start(port, template_path, overrides)
    except BaseException:
        with _active_lock:
            _active = None
        raise


class LocalPortInUseError(RuntimeError):
    """The port asked for is taken: moto's server thread would die and leave the start
    waiting forever, so it is checked first."""


def _ensure_free(port: int) -> None:
    if port == 0:
        return
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        raise LocalPortInUseError(
            f"port {port} on 127.0.0.1 is in use (another local stack?): stop it, or pick "
            f"another with --port or {PORT_ENV}"
        ) from None
    finally:
        probe.close()


def _start(
    port: int, template_path: Path | None, overrides: Mapping[str, str] | None
) -> RunningStack:
    _ensure_free(port)
    started = time.perf_counter()
    saved = _SavedProcessState.capture()
    _configure_process()
    names = local_resources(template_path, overrides)
    server = OutboxServer(
        account_id=names.account_id,
        region=names.region,
        ip_address="127.0.0.1",
        port=port,
        verbose=False,
    )
    try:
        server.start()
        host, bound_port = server.get_host_and_port()
        endpoint = f"http://{host}:{bound_port}"
        _set_active(endpoint)
        os.environ["MOTO_PORT"] = str(bound_port)
        resources = _bootstrap(endpoint, template_path, overrides)
        _serve_this_process_in_process()
        _load_service_models()
        _collect_rarely()
    except BaseException:
        _shutdown(server, saved)
        raise
    return RunningStack(
        endpoint=endpoint,
        port=bound_port,
        resources=resources,
        startup_seconds=time.perf_counter() - started,
        _server=server,
        _saved=saved,
    )


def _serve_this_process_in_process() -> None:
    """Inside the stack's own process (where the handlers and the Step Functions engine
    run), AWS calls reach moto's backends directly, through moto's in-process mode,
    instead of over loopback HTTP to the server in the same process: the same backends
    and state, a third of the CPU per request (werkzeug, Flask and a socket each way are
    skipped). Other processes (the CLI, a browser, a second terminal) use the server.
    A client given an explicit endpoint_url still goes through the server."""
    from moto.core.models import botocore_stubber  # noqa: PLC0415

    os.environ.pop("AWS_ENDPOINT_URL", None)
    botocore_stubber.enabled = True


# The services the handlers and the engine call in this process.
_IN_PROCESS_SERVICES: Final = ("dynamodb", "s3", "sesv2", "lambda", "stepfunctions")


def _load_service_models() -> None:
    """Load, once, what moto reads on a service's first request: its botocore model
    and, for REST services, the URL map of its operations. moto caches both, but the
    engine's threads arrive together and each loaded its own copy (2-3 s of CPU in a
    200-customer run)."""
    from moto.core.routing import get_service_router  # noqa: PLC0415
    from moto.core.utils import get_service_model  # noqa: PLC0415

    for service in _IN_PROCESS_SERVICES:
        protocol = str(get_service_model(service).protocol)
        if protocol.startswith("rest-"):
            get_service_router(service)._get_router(protocol)


def _collect_rarely() -> None:
    """moto keeps every item, request and execution as Python objects in this process,
    and with the default thresholds the collector rescans them again and again (most of
    a local run's CPU in a profile). What exists after the bootstrap (moto, boto3, the
    handlers' modules) is frozen out of collection, and collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _set_active(endpoint: str) -> None:
    global _active  # noqa: PLW0603
    with _active_lock:
        _active = endpoint


def _shutdown(server: ThreadedMotoServer, saved: _SavedProcessState) -> None:
    global _active  # noqa: PLW0603
    try:
        server.stop()
    finally:
        # moto keeps its state in module globals: without a reset, the next stack started in
        # this process would find every resource already there.
        moto_api_backend.reset()
        saved.restore()
        with _active_lock:
            _active = None


@dataclass
class _SavedProcessState:
    """What start_local_stack changes in this process, to put back on stop()."""

    environ: dict[str, str]
    moto_config: dict[str, Any]
    hook_installed: bool
    gc_threshold: tuple[int, int, int]

    @classmethod
    def capture(cls) -> _SavedProcessState:
        return cls(
            environ=dict(os.environ),
            moto_config=copy.deepcopy(dict(default_user_config)),
            hook_installed=moto_patches.lambda_installed(),
            gc_threshold=gc.get_threshold(),
        )

    def restore(self) -> None:
        from moto.core.models import botocore_stubber  # noqa: PLC0415

        botocore_stubber.enabled = False
        gc.unfreeze()
        gc.set_threshold(*self.gc_threshold)
        os.environ.clear()
        os.environ.update(self.environ)
        default_user_config.update(self.moto_config)  # type: ignore[typeddict-item]
        if not self.hook_installed:
            moto_patches.uninstall_lambda()


def _configure_process() -> None:
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    moto_patches.install_all(hook.invoke)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's dummy credentials
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    # moto validates TOTP codes only with this set (read at call time, in this process).
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Metrics are switched off locally (POWERTOOLS_METRICS_DISABLED), so Powertools finds
    # none to publish after each invocation: nothing a user needs to hear about.
    warnings.filterwarnings(
        "ignore", message="No application metrics to publish", category=UserWarning
    )


# --------------------------------------------------------------------------- bootstrap


class _Bootstrap:
    def __init__(
        self, endpoint: str, template: dict[str, Any], resolver: Resolver, base_dir: Path
    ) -> None:
        self.template = template
        self.base_dir = base_dir  # DefinitionUri and CodeUri are relative to the template
        self.resolver = resolver
        p = resolver.parameters
        self.stack = p["AWS::StackName"]
        self.region = p["AWS::Region"]
        self.account = p["AWS::AccountId"]
        self.session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            region_name=self.region,
        )
        self.endpoint = endpoint
        self.role_arn = ""

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for rtype in types:
            found.update(resources_of_type(self.template, rtype))
        return found

    def props(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        resolved = self.resolver.resolve(resource.get("Properties") or {})
        return resolved if isinstance(resolved, dict) else {}

    # -- resources, in dependency order

    def role(self) -> None:
        # One permissive role: moto does not enforce IAM, and CreateFunction needs a role.
        iam = self.client("iam")
        name = f"{self.stack}-local-role"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_ASSUME_ROLE))
        self.role_arn = role["Role"]["Arn"]

    def tables(self) -> None:
        ddb = self.client("dynamodb")
        for resource in self.of_type("AWS::DynamoDB::Table").values():
            p = self.props(resource)
            kwargs: dict[str, Any] = {
                "TableName": p["TableName"],
                "KeySchema": p["KeySchema"],
                "AttributeDefinitions": p["AttributeDefinitions"],
                "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if p.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
            if "SSESpecification" in p:
                kwargs["SSESpecification"] = {"Enabled": bool(p["SSESpecification"]["SSEEnabled"])}
            # DeletionProtection and PITR are left out on purpose: local data is disposable.
            ddb.create_table(**kwargs)

    def buckets(self) -> None:
        s3 = self.client("s3")
        for resource in self.of_type("AWS::S3::Bucket").values():
            p = self.props(resource)
            bucket = p["BucketName"]
            s3.create_bucket(Bucket=bucket)  # us-east-1: no LocationConstraint
            if "VersioningConfiguration" in p:
                s3.put_bucket_versioning(
                    Bucket=bucket,
                    VersioningConfiguration={"Status": p["VersioningConfiguration"]["Status"]},
                )
            if "BucketEncryption" in p:
                s3.put_bucket_encryption(
                    Bucket=bucket,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": rule[
                                    "ServerSideEncryptionByDefault"
                                ]
                            }
                            for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                        ]
                    },
                )
            if "PublicAccessBlockConfiguration" in p:
                s3.put_public_access_block(
                    Bucket=bucket,
                    PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"],
                )
            # The deny-non-TLS bucket policy is not applied: the local endpoint is plain HTTP.

    def mail(self) -> None:
        ses = self.client("ses")
        for resource in self.of_type("AWS::SES::EmailIdentity").values():
            identity = self.props(resource)["EmailIdentity"]
            if "@" in identity:
                ses.verify_email_identity(EmailAddress=identity)
            else:
                ses.verify_domain_identity(Domain=identity)
        sender = self.resolver.parameters.get("SenderEmail")
        if sender:
            ses.verify_email_identity(EmailAddress=sender)
        # The configuration set exists, as the send names it; its event destination
        # (SES -> SNS -> the events function) is not emulated: `local bounce` stands in.
        sesv2 = self.client("sesv2")
        for resource in self.of_type("AWS::SES::ConfigurationSet").values():
            sesv2.create_configuration_set(ConfigurationSetName=self.props(resource)["Name"])

    def cognito(self) -> None:
        idp = self.client("cognito-idp")
        pools = self.of_type("AWS::Cognito::UserPool")
        for logical_id, resource in pools.items():
            p = self.props(resource)
            kwargs = {
                key: p[key]
                for key in (
                    "UsernameAttributes",
                    "AutoVerifiedAttributes",
                    "MfaConfiguration",
                    "Policies",
                    "AdminCreateUserConfig",
                    "AccountRecoverySetting",
                )
                if key in p
            }
            pool = idp.create_user_pool(
                PoolName=p.get("UserPoolName", f"{self.stack}-{logical_id}"), **kwargs
            )["UserPool"]
            if "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", []):
                idp.set_user_pool_mfa_config(
                    UserPoolId=pool["Id"],
                    SoftwareTokenMfaConfiguration={"Enabled": True},
                    MfaConfiguration=p.get("MfaConfiguration", "OPTIONAL"),
                )
            self.resolver.refs[logical_id] = pool["Id"]
            self.resolver.attributes[(logical_id, "Arn")] = pool["Arn"]
            self.resolver.attributes[(logical_id, "ProviderName")] = (
                f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}"
            )
        for logical_id, resource in self.of_type("AWS::Cognito::UserPoolClient").items():
            p = self.props(resource)
            client_kwargs = {
                key: p[key]
                for key in ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors")
                if key in p
            }
            client = idp.create_user_pool_client(
                UserPoolId=p["UserPoolId"],
                ClientName=p.get("ClientName", f"{self.stack}-{logical_id}"),
                **client_kwargs,
            )["UserPoolClient"]
            self.resolver.refs[logical_id] = client["ClientId"]
        for resource in self.of_type("AWS::Cognito::UserPoolGroup").values():
            p = self.props(resource)
            idp.create_group(
                UserPoolId=p["UserPoolId"],
                GroupName=p["GroupName"],
                **({"Description": p["Description"]} if "Description" in p else {}),
            )

    def functions(self) -> dict[str, str]:
        """Create every function; return the union of their environments."""
        lam = self.client("lambda")
        union: dict[str, str] = {}
        owner: dict[str, str] = {}
        for logical_id in resources_of_type(self.template, "AWS::Serverless::Function"):
            raw = function_properties(self.template, logical_id)
            p = self.resolver.resolve(raw)
            env = {k: str(v) for k, v in (p.get("Environment") or {}).get("Variables", {}).items()}
            env.update(LOCAL_FUNCTION_ENV)
            lam.create_function(
                FunctionName=self.resolver.refs[logical_id],
                Runtime=p["Runtime"],
                Role=self.role_arn,
                Handler=local_handler(str(p["CodeUri"]), str(p["Handler"])),
                Code={"ZipFile": _STUB_ZIP},
                Description=str(p.get("Description", "")),
                Timeout=int(p.get("Timeout", 3)),
                MemorySize=int(p.get("MemorySize", 128)),
                Architectures=list(p.get("Architectures", ["x86_64"])),
                Environment={"Variables": env},
                TracingConfig={"Mode": str(p.get("Tracing", "PassThrough"))},
            )
            # The daily schedule's rule, for parity (moto never fires it: see
            # `psa-billing local schedule`).
            self.schedules(
                logical_id, raw.get("Events") or {}, self.resolver.attributes[(logical_id, "Arn")]
            )
            for key, value in env.items():
                if key in union and union[key] != value:
                    raise TemplateError(
                        f"environment variable {key} differs between {owner[key]} "
                        f"({union[key]!r}) and {logical_id} ({value!r}); the local stack runs "
                        "every handler in one process, so it must be the same everywhere"
                    )
                union[key], owner[key] = value, logical_id
        return union

    def state_machines(self) -> None:
        sfn = self.client("stepfunctions")
        machines = self.of_type("AWS::Serverless::StateMachine")
        for logical_id, resource in machines.items():
            raw = resource.get("Properties") or {}
            if "DefinitionUri" not in raw:
                raise TemplateError(f"{logical_id}: the local stack needs a DefinitionUri file")
            definition = (self.base_dir / str(raw["DefinitionUri"])).read_text(encoding="utf-8")
            substitutions = self.resolver.resolve(raw.get("DefinitionSubstitutions") or {})
            definition = substitute_definition(definition, substitutions)
            kwargs: dict[str, Any] = {}
            if (raw.get("Tracing") or {}).get("Enabled"):
                kwargs["tracingConfiguration"] = {"enabled": True}
            sfn.create_state_machine(
                name=self.resolver.attributes[(logical_id, "Name")],
                definition=definition,
                roleArn=self.role_arn,
                type=str(raw.get("Type", "STANDARD")),
                **kwargs,
            )
            self.schedules(logical_id, raw.get("Events") or {})

    def schedules(
        self, target_id: str, events: Mapping[str, Any], target_arn: str | None = None
    ) -> None:
        """Store the schedules for parity; moto never fires them (start runs explicitly)."""
        target_arn = target_arn or self.resolver.refs[target_id]
        for event_id, event in events.items():
            p = self.resolver.resolve(event.get("Properties") or {})
            name = f"{self.stack}-{target_id}-{event_id}"
            if event.get("Type") == "Schedule":
                events_client = self.client("events")
                events_client.put_rule(
                    Name=name,
                    ScheduleExpression=p["Schedule"],
                    State="ENABLED" if p.get("Enabled", True) else "DISABLED",
                    Description=str(p.get("Description", "")),
                )
                target: dict[str, Any] = {
                    "Id": event_id,
                    "Arn": target_arn,
                    "RoleArn": self.role_arn,
                }
                if "Input" in p:
                    target["Input"] = p["Input"]
                events_client.put_targets(Rule=name, Targets=[target])
            elif event.get("Type") == "ScheduleV2":
                target = {"Arn": target_arn, "RoleArn": self.role_arn}
                if "Input" in p:
                    target["Input"] = p["Input"]
                self.client("scheduler").create_schedule(
                    Name=name,
                    ScheduleExpression=p["ScheduleExpression"],
                    ScheduleExpressionTimezone=p.get("ScheduleExpressionTimezone", "UTC"),
                    FlexibleTimeWindow={"Mode": "OFF"},
                    Target=target,
                )


def substitute_definition(definition: str, substitutions: Mapping[str, Any]) -> str:
    """Apply DefinitionSubstitutions as Step Functions does: plain text replacement."""
    for name, value in substitutions.items():
        definition = definition.replace("${" + name + "}", str(value))
    return definition


def _bootstrap(
    endpoint: str, template_path: Path | None, overrides: Mapping[str, str] | None
) -> StackResources:
    template_path = template_path or default_template_path()
    template = load_template(template_path)
    resolver = build_resolver(template, overrides)
    names = local_resources(template_path, overrides)
    boot = _Bootstrap(endpoint, template, resolver, template_path.parent)
    boot.role()
    boot.tables()
    boot.buckets()
    boot.mail()
    boot.cognito()
    environment = boot.functions()
    boot.state_machines()
    # The handlers run in this process: give it the functions' environment.
    os.environ.update(environment)
    os.environ["AWS_DEFAULT_REGION"] = names.region
    if STATE_MACHINE_ID not in resolver.refs:
        raise TemplateError(f"template.yaml has no {STATE_MACHINE_ID}")
    return StackResources(
        **{f: getattr(names, f) for f in names.__dataclass_fields__},
        user_pool_id=resolver.refs.get(USER_POOL_ID, ""),
        user_pool_client_id=resolver.refs.get(USER_POOL_CLIENT_ID, ""),
    )
