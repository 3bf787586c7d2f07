"""Roles in an organisation and what the API lets each do (docs/api.md has the table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    TECHNICIAN = "TECHNICIAN"
    CLIENT = "CLIENT"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.TECHNICIAN: 2, Role.CLIENT: 1}

# Billing (statements, runs, customer billing settings, the CSV) needs this role.
BILLING_ROLE = Role.ADMIN
# Changing an organisation's own settings and feature flags needs this role.
ORG_SETTINGS_ROLE = Role.OWNER


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller. ``roles`` comes from DynamoDB memberships (users) or the
    machine-client registry (one organisation, read-only), never from token claims."""

    kind: Literal["user", "machine"]
    subject: str  # the user's Cognito sub, or the machine client's id
    actor: str  # what adjustments and history record as "who"
    client_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()

    @property
    def read_only(self) -> bool:
        return self.kind == "machine"

    def role_in(self, org_id: str) -> Role | None:
        return self.roles.get(org_id)

    def billing_read_orgs(self) -> frozenset[str]:
        """Organisations whose billing data this caller may read."""
        if self.kind == "machine":
            return frozenset(self.roles)
        return frozenset(o for o, r in self.roles.items() if r.at_least(BILLING_ROLE))

    def billing_write_orgs(self) -> frozenset[str]:
        if self.read_only:
            return frozenset()
        return self.billing_read_orgs()
