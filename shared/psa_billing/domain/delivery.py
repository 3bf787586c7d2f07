"""What happened to a statement's mail after SES accepted it (docs/billing-rules.md
"Delivery you can see"): SES's delivery, bounce, complaint and reject events, recorded
on the statement by the SES message id of the send. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeliveryKind(StrEnum):
    DELIVERED = "delivered"  # the recipient's mail server took it
    BOUNCED = "bounced"  # it refused it (permanently, or SES gave up retrying)
    COMPLAINED = "complained"  # delivered, and the recipient marked it as spam
    REJECTED = "rejected"  # SES did not try to deliver it (e.g. a virus in it)


# A mail that did not arrive puts its statement back in the review queue: a person
# fixes the address (or the content) and sends it again. A complaint means it did
# arrive: it is recorded and shown, not queued.
NEEDS_REVIEW = frozenset({DeliveryKind.BOUNCED, DeliveryKind.REJECTED})


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    kind: DeliveryKind
    at: str  # ISO 8601 UTC, when SES says it happened
    message_id: str  # the SES message id of the send it is about
    revision: int  # the statement revision that send emailed
    recipients: tuple[str, ...] = ()
    bounce_type: str | None = None  # Permanent | Transient | Undetermined
    bounce_sub_type: str | None = None  # General, NoEmail, MailboxFull, ...
    diagnostic: str | None = None  # the receiving server's words (bounce), or SES's reason
    feedback_type: str | None = None  # complaint: abuse, fraud, not-spam, ...
    source: str = "ses"  # who reported it: "ses", or "local simulation"

    @property
    def needs_review(self) -> bool:
        return self.kind in NEEDS_REVIEW

    def summary(self) -> str:
        """One line for people: the review queue's reason, the history's entry."""
        to = ", ".join(self.recipients)
        if self.kind is DeliveryKind.BOUNCED:
            kind = "/".join(t for t in (self.bounce_type, self.bounce_sub_type) if t)
            text = f"bounced ({kind})" if kind else "bounced"
            text += f" for {to}" if to else ""
            return f"{text}: {self.diagnostic}" if self.diagnostic else text
        if self.kind is DeliveryKind.COMPLAINED:
            why = f" ({self.feedback_type})" if self.feedback_type else ""
            return f"{to or 'the recipient'} marked it as spam{why}"
        if self.kind is DeliveryKind.REJECTED:
            return f"rejected by SES: {self.diagnostic or 'no reason given'}"
        return f"delivered to {to}" if to else "delivered"

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event": str(self.kind),
            "at": self.at,
            "messageId": self.message_id,
            "revision": self.revision,
            "recipients": list(self.recipients),
            "summary": self.summary(),
            "source": self.source,
        }
        for key, value in (
            ("bounceType", self.bounce_type),
            ("bounceSubType", self.bounce_sub_type),
            ("diagnostic", self.diagnostic),
            ("feedbackType", self.feedback_type),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_public(cls, doc: dict[str, Any]) -> DeliveryEvent:
        return cls(
            kind=DeliveryKind(doc["event"]),
            at=str(doc["at"]),
            message_id=str(doc["messageId"]),
            revision=int(doc["revision"]),
            recipients=tuple(doc.get("recipients") or ()),
            bounce_type=doc.get("bounceType"),
            bounce_sub_type=doc.get("bounceSubType"),
            diagnostic=doc.get("diagnostic"),
            feedback_type=doc.get("feedbackType"),
            source=str(doc.get("source") or "ses"),
        )
