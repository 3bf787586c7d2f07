"""SES adapter: sends a ready-made raw MIME message (SESv2 SendEmail, Content.Raw)."""

from __future__ import annotations

from typing import Any

import boto3


class SesMailer:
    def __init__(self, client: Any | None = None) -> None:
        self._ses = client or boto3.client("sesv2")

    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        resp = self._ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [to]},
            Content={"Raw": {"Data": raw}},
        )
        return str(resp.get("MessageId", ""))
