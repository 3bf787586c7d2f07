"""The errors the adapters raise on purpose, in a module of their own so that the
API's error mapping (api/errors.py) can name them without importing pynamodb or
botocore at cold start (docs/api.md "Cold start"). Which AWS failures are worth
retrying is dal/errors.py."""

from __future__ import annotations

from psa_billing.domain.errors import BillingError


class ConcurrentChangeError(BillingError):
    """A conditional write lost to another writer; nothing was changed."""


class AdjustmentAlreadyMadeError(BillingError):
    """The same request (its Idempotency-Key, per person) already made an adjustment of
    this statement; nothing was appended this time."""

    def __init__(self, statement_id: str, number: int | None) -> None:
        super().__init__(f"statement {statement_id}: this request already made adjustment {number}")
        self.statement_id = statement_id
        self.number = number


class ChangedMeanwhileError(BillingError):
    """A conditional write lost to another writer; nothing was changed."""


class RunInProgressError(BillingError):
    """A run of that organisation and period (or an import of that organisation)
    holds the lease; the message names the holder."""


class WorkerFailedError(Exception):
    """A render/send function or the state machine failed; the message says which,
    never the function's traceback."""
