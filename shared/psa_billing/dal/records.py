"""Plain records the API's adapter (dal/access.py) hands out: no pynamodb here, so the
use cases that take them load no adapter. dal/serde.py maps them to and from items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Items in listings that do not belong to an organisation still need the base org_id.
NO_ORG = "-"


@dataclass(frozen=True, slots=True)
class Member:
    user_sub: str
    email: str
    org_id: str
    role: str


@dataclass(frozen=True, slots=True)
class UserAccess:
    roles: dict[str, str]
    signed_out_at: int | None
    email: str = ""


@dataclass(frozen=True, slots=True)
class MachineClient:
    client_id: str
    org_id: str
    name: str
    scope: str


@dataclass(frozen=True, slots=True)
class SettingsChange:
    at: str
    actor: str
    changes: dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OrgRun:
    run_id: str
    period: str
    started_at: str
    started_by: str
    execution_arn: str


@dataclass(frozen=True, slots=True)
class ActiveRun:
    run_id: str
    execution_arn: str


@dataclass(frozen=True, slots=True)
class StatementPosition:
    """Where a page of the statement listing ended: (period, org, customer, version),
    the listing's newest-first order (a re-billed period has a version 2, ...)."""

    period: str
    org_id: str
    customer_id: str
    version: int = 1
