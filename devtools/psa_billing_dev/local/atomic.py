"""Make moto's DynamoDB writes atomic, as DynamoDB's are, and transactions cheap.

DynamoDB checks a write's condition and applies it as one step per item (and a
transaction as one step for all its items). moto does not: two threads of the local
server can both pass ``attribute_not_exists`` before either writes. The billed-once
and sent-once guarantees rest on that atomicity, so the local stack serialises
moto's DynamoDB writes with one lock. (Reads are left alone.)

moto also backs up a transaction by deep-copying every table it touches, so each
TransactWriteItems costs time in proportion to the whole table and a local run
slows down with every statement written. Here a transaction backs up only the items
it names, and puts them back if it fails.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_installed = False


class _NoTableCopy:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a table is
    not deep-copied (``transact_write_items`` below backs up the items it touches)."""

    def __init__(self, real: Any, table_type: type) -> None:
        self._real = real
        self._table_type = table_type

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if isinstance(value, self._table_type):
            return value
        return self._real.deepcopy(value, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """(table, hash key, range key) of every item a transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    out = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        attrs = op.get("Item") or op.get("Key") or {}
        hash_value = attrs.get(table.hash_key_attr)
        if hash_value is None:
            continue
        range_value = attrs.get(table.range_key_attr) if table.range_key_attr else None
        out.append(
            (
                table,
                DynamoType(hash_value),
                None if range_value is None else DynamoType(range_value),
            )
        )
    return out


def install() -> None:
    """Idempotent."""
    global _installed  # noqa: PLW0603 - patch once per process
    if _installed:
        return
    import copy  # noqa: PLC0415

    import moto.dynamodb.models as moto_models  # noqa: PLC0415 - local-only dependency
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    moto_models.copy = _NoTableCopy(copy, Table)  # type: ignore[attr-defined,assignment]
    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for table, hash_key, range_key in _touched(self, transact_items):
            current = table.items.get(hash_key)
            if range_key is not None:
                current = current.get(range_key) if current else None
            backups.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            original_transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    DynamoDBBackend.transact_write_items = functools.wraps(original_transact)(  # type: ignore[method-assign]
        transact_write_items
    )

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _installed = True
