"""SES adapter: sends a ready-made raw MIME message (SESv2 SendEmail, Content.Raw)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from psa_billing.dal.errors import transient_as_retryable


class SesMailer:
    def __init__(self, client: Any | None = None, *, configuration_set: str = "") -> None:
        self._ses = client or boto3.client("sesv2", config=Config(max_pool_connections=32))
        # SES publishes this mail's delivery, bounce and complaint events through it.
        self._configuration_set = configuration_set

    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        """Returns SES's message id; throttling and outages raise ``TransientError``."""
        extra = {"ConfigurationSetName": self._configuration_set} if self._configuration_set else {}
        with transient_as_retryable():
            resp = self._ses.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [to]},
                Content={"Raw": {"Data": raw}},
                **extra,
            )
        return str(resp.get("MessageId", ""))
