"""Where the command line sends its AWS calls.

By default it talks to the local stack (``psa-billing local up``) with no flags: the
endpoint, the fake credentials and the resource names all come from template.yaml.
With PSA_BILLING_TARGET=aws it uses the normal AWS configuration and the resource
names in DATA_TABLE, STATEMENTS_BUCKET and STATE_MACHINE_ARN (the stack's outputs).
"""

from __future__ import annotations

import os

LOCAL_PORT_DEFAULT = 4599


def local_endpoint() -> str:
    port = os.environ.get("PSA_BILLING_LOCAL_PORT", str(LOCAL_PORT_DEFAULT))
    return f"http://127.0.0.1:{port}"


def targets_aws() -> bool:
    return os.environ.get("PSA_BILLING_TARGET", "local").lower() == "aws"


def use_local_stack(endpoint: str | None = None) -> str:
    """Point this process's boto3/pynamodb clients and settings at the local stack."""
    from psa_billing_dev.local.template import local_resources  # noqa: PLC0415 - CLI only

    endpoint = endpoint or local_endpoint()
    res = local_resources()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = res.region
    os.environ["DATA_TABLE"] = res.data_table
    os.environ["STATEMENTS_BUCKET"] = res.statements_bucket
    os.environ["STATE_MACHINE_ARN"] = res.state_machine_arn
    os.environ["SENDER_EMAIL"] = res.sender_email
    os.environ["SES_CONFIGURATION_SET"] = res.ses_configuration_set
    return endpoint
