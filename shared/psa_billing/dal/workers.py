"""Adapters the API uses to have work done elsewhere: the render and send Lambda
functions (the API never renders or emails itself: cold start), the monthly run's
state machine, and presigned links to statement PDFs."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from psa_billing.dal.failures import WorkerFailedError


def _client(service: str, **kwargs: Any) -> Any:
    import boto3  # noqa: PLC0415 - when a route first needs it, not at import (cold start)

    return boto3.client(service, **kwargs)  # type: ignore[call-overload]


class LambdaStatementWorkers:
    """StatementWorkers through lambda:InvokeFunction (RequestResponse). Payloads are
    the lead's step contract: render {statementId, revision} -> {.., pdfKey};
    send {statementId, revision, pdfKey, again} -> {.., sent}."""

    def __init__(self, render_function: str, send_function: str, client: Any = None) -> None:
        self._render = render_function
        self._send = send_function
        self._client = client or _client(
            "lambda", config=Config(read_timeout=120, retries={"mode": "standard"})
        )

    def _invoke(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self._client.invoke(
                FunctionName=function,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode(),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise WorkerFailedError(f"{function} could not be invoked ({code})") from None
        body = resp["Payload"].read()
        result = json.loads(body or b"{}")
        if resp.get("FunctionError"):
            kind = result.get("errorType", "error") if isinstance(result, dict) else "error"
            raise WorkerFailedError(f"{function} failed ({kind})")
        if not isinstance(result, dict):
            raise WorkerFailedError(f"{function} returned an unexpected answer")
        return result

    def render(self, statement_id: str, revision: int) -> str:
        out = self._invoke(self._render, {"statementId": statement_id, "revision": revision})
        return str(out["pdfKey"])

    def send(
        self,
        statement_id: str,
        revision: int,
        pdf_key: str,
        *,
        again: bool,
        notice: str = "statement",
    ) -> bool:
        """``notice="void"``: the void notice of a void statement, at most once."""
        payload = {"statementId": statement_id, "revision": revision, "pdfKey": pdf_key}
        payload |= {"again": again, "notice": notice}
        return bool(self._invoke(self._send, payload).get("sent"))


class StepFunctionsRuns:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = client or _client("stepfunctions")

    def execution_arn(self, name: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def start(self, name: str, payload: dict[str, Any]) -> str:
        resp = self._client.start_execution(
            stateMachineArn=self._arn, name=name, input=json.dumps(payload)
        )
        return str(resp["executionArn"])

    def is_running(self, execution_arn: str) -> bool:
        try:
            desc = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return False
            raise
        return bool(desc["status"] == "RUNNING")


class S3Links:
    """``link_endpoint``: where the links point, when not at S3 itself (locally: the moto
    server, which a browser can reach; the API's own calls may take another path)."""

    def __init__(self, bucket: str, client: Any = None, link_endpoint: str = "") -> None:
        self._bucket = bucket
        self._client = client or _client("s3", config=Config(signature_version="s3v4"))
        self._signer = (
            _client("s3", endpoint_url=link_endpoint, config=Config(signature_version="s3v4"))
            if link_endpoint
            else self._client
        )

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def presigned_get(self, key: str, seconds: int) -> str:
        url: str = self._signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentType": "application/pdf"},
            ExpiresIn=seconds,
        )
        return url
