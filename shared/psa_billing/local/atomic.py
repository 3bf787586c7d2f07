"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

DynamoDB checks a write's condition and applies it as one step per item (and a
transaction as one step for all its items). moto does not: two threads of the local
server can both pass ``attribute_not_exists`` before either writes. The billed-once
and sent-once guarantees rest on that atomicity, so the local stack serialises
moto's DynamoDB writes with one lock. (Reads are left alone.)
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_installed = False


def install() -> None:
    """Idempotent."""
    global _installed  # noqa: PLW0603 - patch once per process
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - local-only dependency

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _installed = True
