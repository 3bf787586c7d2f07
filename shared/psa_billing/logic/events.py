"""The state machine's payloads, one pydantic model per boundary (camelCase on the wire)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from psa_billing.domain.model import Period


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class RunRequest(Wire):
    """What the schedule and ``psa-billing run`` send: the same shape for both.
    The schedule sends no period (bill the month before the execution started) and
    no org (bill every organisation)."""

    trigger: str = "manual"
    period: str | None = None
    org_id: str | None = Field(default=None, alias="orgId")
    customer_ids: list[str] | None = Field(default=None, alias="customerIds")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            Period.parse(value)
        return value


class PlanRunEvent(Wire):
    input: RunRequest = Field(default_factory=RunRequest)
    run_id: str = Field(alias="runId")
    started_at: str = Field(alias="startedAt")


class PlannedRun(Wire):
    run_id: str = Field(alias="runId")
    period: str
    bucket: str
    manifest_key: str = Field(alias="manifestKey")
    total: int
    already_billed: int = Field(alias="alreadyBilled")


class CustomerTask(Wire):
    """One Map item, enriched step by step (bill -> render -> send)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)

    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    period: str
    run_id: str = Field(alias="runId")
    outcome: str | None = None
    statement_id: str | None = Field(default=None, alias="statementId")
    revision: int | None = None
    auto_send: bool | None = Field(default=None, alias="autoSend")
    statement: dict[str, Any] | None = None
    pdf_key: str | None = Field(default=None, alias="pdfKey")
    error: dict[str, Any] | None = None

    def out(self, **changes: Any) -> dict[str, Any]:
        """The next state's payload: this one with ``changes`` (None drops a key)."""
        doc = self.model_dump(by_alias=True, exclude_none=True)
        for k, v in changes.items():
            key = _ALIASES.get(k, k)
            if v is None:
                doc.pop(key, None)
            else:
                doc[key] = v
        return doc


_ALIASES = {
    "org_id": "orgId",
    "customer_id": "customerId",
    "run_id": "runId",
    "statement_id": "statementId",
    "auto_send": "autoSend",
    "pdf_key": "pdfKey",
}


class CloseRunEvent(Wire):
    run_id: str = Field(alias="runId")
    period: str
    map_error: dict[str, Any] | None = Field(default=None, alias="mapError")
