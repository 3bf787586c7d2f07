"""A warm function reads an organisation's details once, not once per statement."""

from __future__ import annotations

import time
from collections.abc import Callable

from psa_billing.domain.org import OrgSettings, new_org_settings


class OrgCache:
    def __init__(
        self,
        load: Callable[[str], OrgSettings | None],
        ttl_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, OrgSettings]] = {}

    def get(self, org_id: str) -> OrgSettings:
        now = self._clock()
        hit = self._cache.get(org_id)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        org = self._load(org_id) or new_org_settings(org_id)
        self._cache[org_id] = (now, org)
        return org
