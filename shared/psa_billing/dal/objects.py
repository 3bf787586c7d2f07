"""S3 adapter: statement PDFs (one object per revision, never overwritten) and run manifests."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError


class ObjectStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        if client is None:
            import boto3  # noqa: PLC0415 - only when S3 is used (API cold start)

            client = boto3.client("s3", config=Config(max_pool_connections=32))
        self._s3 = client

    def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        """Write ``key`` only if it does not exist yet (S3 conditional write).
        False when it already existed: a retry of the same revision keeps the first copy."""
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
                return False
            raise
        return True

    def put_json(self, key: str, doc: Any) -> None:
        body = json.dumps(doc, separators=(",", ":")).encode()
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
