"""Safe retries of POST and PUT: the ``Idempotency-Key`` header.

Powertools idempotency with its DynamoDB persistence layer: the first request with a
key runs and its answer (status and body) is stored for ``expires_after_seconds``;
a retry with the same key, by the same caller, on the same route, returns that
answer and changes nothing. The same key with a different body is refused (422),
and a retry while the first is still running gets a 409. Errors are not stored, so
a request that failed can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse

from psa_billing.api.errors import IdempotencyInProgressError, IdempotencyReuseError

Answer = tuple[int, dict[str, Any]]


class Idempotency:
    def __init__(self, table_name: str, expires_after_seconds: int = 24 * 3600) -> None:
        self._enabled = bool(table_name)
        if not self._enabled:
            return
        # Imported here, when the first write is retried-safe: Powertools' persistence
        # layer loads boto3, which a cold start that only reads never needs.
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        persistence = DynamoDBPersistenceLayer(table_name=table_name)
        config = IdempotencyConfig(
            event_key_jmespath='["key", "principal", "route"]',
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="request",
            persistence_store=persistence,
            config=config,
            key_prefix="psa-billing-api",
        )
        def _run(request: dict[str, Any], work: Callable[[], Answer]) -> dict[str, Any]:
            status, body = work()
            return {"status": status, "body": body}

        self._run = _run
        self._config = config

    def run(
        self,
        key: str | None,
        *,
        principal: str,
        route: str,
        body: Any,
        work: Callable[[], Answer],
        lambda_context: Any = None,
    ) -> Answer:
        if key is None or not self._enabled:
            return work()
        if lambda_context is not None:
            # An in-progress record then expires with the invocation, so a retry after a
            # timed-out first attempt is not refused for the whole hour.
            self._config.register_lambda_context(lambda_context)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        request = {"key": key, "principal": principal, "route": route, "body": digest}
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        try:
            out = self._run(request=request, work=work)
        except IdempotencyValidationError:
            raise IdempotencyReuseError(
                "this Idempotency-Key was used for a different request"
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyInProgressError(
                "a request with this Idempotency-Key is still being processed; retry shortly"
            ) from None
        return int(out["status"]), dict(out["body"])

    def respond(
        self,
        key: str | None,
        *,
        principal: str,
        route: str,
        body: Any,
        work: Callable[[], Answer],
        lambda_context: Any = None,
    ) -> JSONResponse:
        """``run``, answered as JSON with the first answer's status (the API's writes)."""
        status, doc = self.run(
            key,
            principal=principal,
            route=route,
            body=body,
            work=work,
            lambda_context=lambda_context,
        )
        return JSONResponse(doc, status_code=status)
