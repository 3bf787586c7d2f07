"""DynamoDB leases that keep an organisation's imports and runs apart (logic/leases.py).

The import lease and every run lease live in the organisation's partition. A run takes
its lease in one transaction with a check that no import lease is live; an import puts
its lease first, then looks for live run leases (and gives its lease back if it finds
one). Whichever writes second sees the other, so the two never both proceed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from psa_billing.dal import keys
from psa_billing.dal.models import ImportStateItem, Item, LeaseItem
from psa_billing.dal.serde import import_state_from, import_state_item, lease_handle, lease_item
from psa_billing.logic.leases import ImportState


def _failed_condition(exc: Exception) -> bool:
    if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    if isinstance(exc, TransactWriteError):
        return any(
            r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons
        )
    return False


def _until(expires_at: float) -> str:
    return datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")


class DynamoLeases:
    def take_import_lease(
        self, org_id: str, holder: str, now: datetime, seconds: int
    ) -> str | None:
        stamp = now.timestamp()
        lease = lease_item(org_id, keys.IMPORT_LEASE_SK, holder, stamp + seconds)
        try:
            lease.save(
                condition=LeaseItem.pk.does_not_exist()
                | (LeaseItem.expires_at < stamp)
                | (LeaseItem.holder == holder)
            )
        except PutError as exc:
            if not _failed_condition(exc):
                raise
            current = self._lease(org_id, keys.IMPORT_LEASE_SK)
            return (
                f"{current.holder} (until {_until(current.expires_at)})" if current else "an import"
            )
        for run in LeaseItem.query(
            keys.org_pk(org_id),
            LeaseItem.sk.startswith(keys.RUN_LEASE_PREFIX),
            consistent_read=True,
        ):
            if isinstance(run, LeaseItem) and run.expires_at > stamp:
                self.release_import_lease(org_id, holder)
                return f"{run.holder} (until {_until(run.expires_at)})"
        return None

    def release_import_lease(self, org_id: str, holder: str) -> None:
        self._expire(org_id, keys.IMPORT_LEASE_SK, holder)

    def take_run_lease(self, org_id: str, run_id: str, now: datetime, seconds: int) -> str | None:
        stamp = now.timestamp()
        free = lease_handle(org_id, keys.IMPORT_LEASE_SK)
        mine = lease_item(org_id, keys.run_lease_sk(run_id), f"run {run_id}", stamp + seconds)
        try:
            with TransactWrite(connection=Item._get_connection().connection) as tx:
                tx.condition_check(
                    LeaseItem,
                    free.pk,
                    free.sk,
                    condition=LeaseItem.pk.does_not_exist() | (LeaseItem.expires_at < stamp),
                )
                tx.save(mine)
        except TransactWriteError as exc:
            if not _failed_condition(exc):
                raise
            current = self._lease(org_id, keys.IMPORT_LEASE_SK)
            return (
                f"{current.holder} (until {_until(current.expires_at)})" if current else "an import"
            )
        return None

    def release_run_lease(self, org_id: str, run_id: str) -> None:
        self._expire(org_id, keys.run_lease_sk(run_id), f"run {run_id}")

    def import_state(self, org_id: str) -> ImportState | None:
        try:
            item = ImportStateItem.get(
                keys.org_pk(org_id), keys.IMPORT_STATE_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return import_state_from(item)

    def record_import(self, org_id: str, state: ImportState) -> None:
        import_state_item(org_id, state).save()

    @staticmethod
    def _lease(org_id: str, sk: str) -> LeaseItem | None:
        try:
            item = LeaseItem.get(keys.org_pk(org_id), sk, consistent_read=True)
        except DoesNotExist:
            return None
        return item if isinstance(item, LeaseItem) else None

    @staticmethod
    def _expire(org_id: str, sk: str, holder: str) -> None:
        """Give a lease back by letting it expire now (no DeleteItem anywhere)."""
        item = lease_handle(org_id, sk)
        try:
            item.update(actions=[LeaseItem.expires_at.set(0)], condition=LeaseItem.holder == holder)
        except UpdateError as exc:
            if not _failed_condition(exc):
                raise
