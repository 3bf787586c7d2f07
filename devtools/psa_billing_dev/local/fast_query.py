"""Keep moto's DynamoDB Query from getting slower with every item in the table.

moto answers a Query by sorting *every* item of the table (``Table.all_items``) and
then filtering; with a few thousand items that sort dominates a local run. A Query's
candidates are sorted again after filtering, so their order does not matter: while a
Query runs, ``all_items`` here returns them unsorted, and for a base-table Query only
the items under the queried partition key. Results are identical; only the work is
less. Scans keep moto's sorted order.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_state = threading.local()
_installed = False


def install() -> None:
    """Idempotent."""
    global _installed  # noqa: PLW0603 - patch once per process
    if _installed:
        return
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - local-only dependency

    original_query = Table.query
    original_all_items = Table.all_items

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = (
            kwargs.get("index_name")
            if "index_name" in kwargs
            else (args[6] if len(args) > 6 else None)
        )
        _state.query = (self, None if index_name else hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _state.query = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> Any:
        current = getattr(_state, "query", None)
        if current is None or current[0] is not self:
            return original_all_items(self)
        hash_key = current[1]
        if hash_key is not None and self.range_key_attr:
            return list(self.items.get(hash_key, {}).values())
        if self.range_key_attr:
            return [item for by_range in self.items.values() for item in by_range.values()]
        return list(self.items.values())

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    _installed = True
