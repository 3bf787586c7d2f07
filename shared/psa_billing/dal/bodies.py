"""Statement bodies too large for a DynamoDB item (400 KB): the lines and the inputs of
a customer with a very big month, as one gzip JSON object in S3 that the statement
item points at (``body_key``). Most statements never come here.

The key carries the run that wrote it, so a run that loses the race to create the
statement writes an object of its own, never the winner's: the item points only at
the body written with it.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from typing import Any, Final

from psa_billing import config
from psa_billing.dal.objects import ObjectStore

# Lines (JSON) plus inputs (gzip) above this go to S3: what is left in the item stays far
# below DynamoDB's 400 KB (and a Query page's 1 MB holds several such items).
INLINE_LIMIT: Final = 300_000


def body_key(org_id: str, period: str, customer_id: str, run_id: str) -> str:
    return f"statements/{org_id}/{period}/{customer_id}-body-{run_id}.json.gz"


class StatementBodies:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def put(self, key: str, lines_json: str, inputs_blob: bytes) -> None:
        doc = {"lines": lines_json, "inputs": gzip.decompress(inputs_blob).decode()}
        body = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), mtime=0)
        self._store.put_new(key, body, "application/gzip")

    def get(self, key: str) -> tuple[str, bytes]:
        """(lines JSON, inputs as the item would hold them: gzip JSON)."""
        doc: dict[str, Any] = json.loads(gzip.decompress(self._store.get(key)))
        return doc["lines"], gzip.compress(doc["inputs"].encode(), mtime=0)


@lru_cache(maxsize=1)
def default_bodies() -> StatementBodies:
    return StatementBodies(ObjectStore(config.bucket().statements_bucket))
