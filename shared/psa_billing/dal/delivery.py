"""DynamoDB adapter of the SES events function (``logic/delivery_events.py``
DeliveryLog): find the statement by SES's message id (GetItem ``MSG#<id>``), then
append the event to the statement's partition and record it on the statement, in one
TransactWriteItems (docs/data-model.md)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from psa_billing.dal import keys
from psa_billing.dal.models import DeliveryEventItem, Item, MessageItem, StatementItem
from psa_billing.dal.serde import delivery_event_item, delivery_event_json, statement_handle
from psa_billing.domain.delivery import DeliveryEvent
from psa_billing.domain.statement import StatementStatus
from psa_billing.logic.delivery_events import MessageTarget, Recorded


class DynamoDeliveryLog:
    """Binds to the table through the repository (``runtime.delivery_log()``)."""

    def find_message(self, message_id: str) -> MessageTarget | None:
        try:
            item = MessageItem.get(keys.message_pk(message_id), keys.MESSAGE_SK)
        except DoesNotExist:
            return None
        return MessageTarget(item.org_id, item.statement_id, int(item.revision))

    def record(self, target: MessageTarget, event: DeliveryEvent, notification_id: str) -> Recorded:
        """Append the event and, when it is about the statement's last send, record it
        on the statement; a bounce or reject of a sent statement puts it back in the
        review queue with the reason. A notification SNS delivers again changes
        nothing. Tries the likely case first: one request."""
        attempts = [(True, event.needs_review)]  # (on the statement, into the queue)
        if event.needs_review:
            attempts.append((True, False))  # no longer "sent" (adjusted, re-sent...)
        attempts.append((False, False))  # about an earlier send: history only
        for on_statement, queue in attempts:
            try:
                self._write(target, event, notification_id, on_statement, queue)
            except TransactWriteError as exc:
                reasons = [r.code if r is not None else None for r in exc.cancellation_reasons]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return Recorded.DUPLICATE
                if "ConditionalCheckFailed" in reasons:
                    continue  # the statement moved on: try the narrower write
                raise
            if queue:
                return Recorded.QUEUED_FOR_REVIEW
            return Recorded.ON_STATEMENT if on_statement else Recorded.HISTORY_ONLY
        return Recorded.HISTORY_ONLY  # pragma: no cover - the last attempt has no condition

    @staticmethod
    def _write(
        target: MessageTarget,
        event: DeliveryEvent,
        notification_id: str,
        on_statement: bool,
        queue: bool,
    ) -> None:
        connection = Item._get_connection().connection
        with TransactWrite(connection=connection) as tx:
            tx.save(
                delivery_event_item(target.org_id, target.statement_id, event, notification_id),
                condition=DeliveryEventItem.pk.does_not_exist(),
            )
            if not on_statement:
                return
            st = statement_handle(target.statement_id)
            actions: list[Action] = [StatementItem.delivery.set(delivery_event_json(event))]
            condition = StatementItem.message_id == event.message_id
            if queue:
                actions += [
                    StatementItem.status.set(str(StatementStatus.PENDING_REVIEW)),
                    StatementItem.last_error.set(event.summary()[:1000]),
                ]
                condition = condition & (StatementItem.status == str(StatementStatus.SENT))
            tx.update(st, actions=actions, condition=condition)
