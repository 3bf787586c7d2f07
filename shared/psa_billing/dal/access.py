"""DynamoDB adapter for the API's own data: memberships, machine clients, sign-in
failure counters, customer billing settings with their history, an organisation's
runs and feature flags, and paged statement listing.

Every read is a GetItem or a Query (docs/data-model.md, "API access").
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from psa_billing.dal import keys
from psa_billing.dal.failures import ChangedMeanwhileError, RunInProgressError
from psa_billing.dal.models import (
    ActiveRunItem,
    AdjustmentItem,
    CustomerItem,
    Item,
    LoginFailureItem,
    MachineClientItem,
    MembershipItem,
    OrgFeaturesItem,
    OrgRunItem,
    OutcomeItem,
    SettingsChangeItem,
    StatementItem,
    UserItem,
    bind,
)
from psa_billing.dal.records import (
    ActiveRun,
    MachineClient,
    Member,
    OrgRun,
    SettingsChange,
    StatementPosition,
    UserAccess,
)
from psa_billing.dal.serde import (
    active_run_from,
    active_run_item,
    adjustment_from,
    billing_doc,
    customer_billing_actions,
    customer_billing_is,
    customer_from,
    customer_handle,
    delivery_status,
    login_failure_item,
    login_failures_from,
    machine_client_from,
    machine_client_item,
    member_from,
    membership_handle,
    membership_item,
    org_features_from,
    org_features_item,
    org_run_from,
    org_run_item,
    outcome_from,
    settings_change_from,
    settings_change_item,
    statement_from,
    user_item,
)
from psa_billing.domain.adjustments import Adjustment
from psa_billing.domain.model import BillingSettings, Customer, CustomerProfile
from psa_billing.domain.run import CustomerOutcome
from psa_billing.domain.statement import Statement

# The records are defined beside the mapping (dal/records.py); importers name them here.
__all__ = [
    "AccessRepository",
    "ActiveRun",
    "ChangedMeanwhileError",
    "MachineClient",
    "Member",
    "OrgRun",
    "RunInProgressError",
    "SettingsChange",
    "StatementPosition",
    "UserAccess",
]


def _condition_failed(exc: Exception) -> bool:
    if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    if isinstance(exc, TransactWriteError):
        return any(
            r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons
        )
    return False


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AccessRepository:
    def __init__(self, table_name: str, region: str) -> None:
        bind(table_name, region)
        self._region = region

    # -- memberships ----------------------------------------------------------------

    def user_access(self, user_sub: str) -> UserAccess:
        """One Query: every membership of the user and their sign-out time."""
        roles: dict[str, str] = {}
        signed_out: int | None = None
        email = ""
        for item in Item.query(keys.user_pk(user_sub)):
            if isinstance(item, MembershipItem):
                roles[item.org_id] = item.role
                email = item.email
            elif isinstance(item, UserItem) and item.signed_out_at is not None:
                signed_out = int(item.signed_out_at)
        return UserAccess(roles=roles, signed_out_at=signed_out, email=email)

    def put_membership(self, user_sub: str, email: str, org_id: str, role: str) -> None:
        membership_item(user_sub, email, org_id, role, _now_iso()).save()

    def remove_membership(self, user_sub: str, org_id: str) -> bool:
        item = membership_handle(user_sub, org_id)
        try:
            item.delete(condition=MembershipItem.pk.exists())
        except Exception as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def members_of(self, org_id: str) -> list[Member]:
        return [
            member_from(i)
            for i in Item.customer_view.query(keys.org_members_pk(org_id))
            if isinstance(i, MembershipItem)
        ]

    def mark_signed_out(self, user_sub: str, email: str, at: int) -> None:
        user_item(user_sub, email, at).save()

    # -- machine clients --------------------------------------------------------------

    def put_machine_client(self, client: MachineClient) -> None:
        machine_client_item(client, _now_iso()).save()

    def get_machine_client(self, client_id: str) -> MachineClient | None:
        try:
            i = MachineClientItem.get(keys.machine_client_pk(client_id), keys.MACHINE_CLIENT_SK)
        except DoesNotExist:
            return None
        return machine_client_from(i)

    def machine_clients_of(self, org_id: str) -> list[MachineClient]:
        return [
            machine_client_from(i)
            for i in Item.customer_view.query(keys.org_clients_pk(org_id))
            if isinstance(i, MachineClientItem)
        ]

    # -- sign-in failures ---------------------------------------------------------------

    def login_failures(self, account_hash: str) -> tuple[int, int, int | None]:
        """(failures, first failure epoch, locked until epoch or None)."""
        try:
            i = LoginFailureItem.get(
                keys.login_failure_pk(account_hash), keys.LOGIN_FAILURE_SK, consistent_read=True
            )
        except DoesNotExist:
            return 0, 0, None
        return login_failures_from(i)

    def put_login_failures(
        self, account_hash: str, failures: int, first_at: int, locked_until: int | None
    ) -> None:
        login_failure_item(account_hash, failures, first_at, locked_until).save()

    # -- customers' billing settings -------------------------------------------------------

    def get_customer(self, org_id: str, customer_id: str) -> Customer | None:
        try:
            item = CustomerItem.get(
                keys.org_pk(org_id), keys.customer_sk(customer_id), consistent_read=True
            )
        except DoesNotExist:
            return None
        return customer_from(item)

    def customer_was_billed(self, org_id: str, customer_id: str) -> bool:
        """Has any statement been issued to the customer? One Query on GSI1, one item."""
        found = Item.customer_view.query(
            keys.customer_view_pk(org_id, customer_id),
            Item.gsi1sk.startswith(keys.STATEMENT_VIEW_PREFIX),
            limit=1,
        )
        return any(isinstance(i, StatementItem) for i in found)

    def update_customer_billing(
        self,
        org_id: str,
        customer_id: str,
        old: BillingSettings,
        new: BillingSettings,
        *,
        actor: str,
        at: str,
        old_profile: CustomerProfile,
        new_profile: CustomerProfile,
    ) -> SettingsChange:
        """One TransactWriteItems: the new settings and statement details, only if they
        are still the ones the change was made against, and the history record of who
        changed what."""
        before = {**billing_doc(old), **old_profile.public()}
        after = {**billing_doc(new), **new_profile.public()}
        changes = {
            k: {"from": before.get(k), "to": after.get(k)}
            for k in sorted(before.keys() | after.keys())
            if before.get(k) != after.get(k)
        }
        change = SettingsChange(at=at, actor=actor, changes=changes)
        # The sort key is the second of the change, then its nanoseconds: changes made in
        # the same second list in the order they were made (newest first), and the random
        # tail keeps two writers' keys apart.
        change_id = f"{time.time_ns() % 1_000_000_000:09d}{uuid.uuid4().hex[:4]}"
        history = settings_change_item(org_id, customer_id, change, change_id)
        try:
            with TransactWrite(connection=Item._get_connection().connection) as tx:
                tx.update(
                    customer_handle(org_id, customer_id),
                    actions=customer_billing_actions(new, new_profile),
                    condition=customer_billing_is(old, old_profile),
                )
                tx.save(history, condition=SettingsChangeItem.pk.does_not_exist())
        except TransactWriteError as exc:
            if _condition_failed(exc):
                raise ChangedMeanwhileError(
                    f"customer {customer_id}'s billing settings changed meanwhile; "
                    "read them again and retry"
                ) from exc
            raise
        return change

    def settings_history(
        self, org_id: str, customer_id: str, limit: int = 50
    ) -> list[SettingsChange]:
        return [
            settings_change_from(i)
            for i in Item.query(
                keys.settings_history_pk(org_id, customer_id),
                scan_index_forward=False,
                limit=limit,
            )
            if isinstance(i, SettingsChangeItem)
        ]

    # -- an organisation's runs -------------------------------------------------------------

    def active_run(self, org_id: str, period: str) -> ActiveRun | None:
        try:
            i = ActiveRunItem.get(
                keys.active_run_pk(org_id, period), keys.ACTIVE_RUN_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return active_run_from(i)

    def claim_period(
        self, org_id: str, period: str, run_id: str, arn: str, previous: ActiveRun | None
    ) -> None:
        """Record ``run_id`` as the period's latest run, only if the latest is still the
        one the caller saw finish (or there was none): two concurrent starts cannot both win."""
        condition = (
            ActiveRunItem.pk.does_not_exist()
            if previous is None
            else ActiveRunItem.run_id == previous.run_id
        )
        try:
            active_run_item(org_id, period, ActiveRun(run_id, arn)).save(condition=condition)
        except PutError as exc:
            if _condition_failed(exc):
                raise RunInProgressError(
                    f"a run for {org_id} {period} was started meanwhile"
                ) from exc
            raise

    def index_run(
        self, org_id: str, run_id: str, period: str, started_at: str, started_by: str, arn: str
    ) -> None:
        """List the run under its organisation (runs started by the API; the monthly
        schedule's plan step should call this too, see docs/api.md)."""
        org_run_item(OrgRun(run_id, period, started_at, started_by, arn), org_id).save()

    def org_runs(self, org_id: str, limit: int, before: str | None = None) -> list[OrgRun]:
        cond = OrgRunItem.sk < before if before else None
        return [
            org_run_from(i)
            for i in Item.query(
                keys.org_runs_pk(org_id), cond, scan_index_forward=False, limit=limit
            )
            if isinstance(i, OrgRunItem)
        ]

    def outcomes_of(self, run_id: str, org_id: str) -> list[CustomerOutcome]:
        """One organisation's outcomes in a run (a run may bill every organisation)."""
        return [
            outcome_from(i)
            for i in OutcomeItem.query(
                keys.run_pk(run_id), OutcomeItem.sk.startswith(keys.outcome_sk(org_id, ""))
            )
            if isinstance(i, OutcomeItem)
        ]

    # -- feature flags ----------------------------------------------------------------------

    def org_features(self, org_id: str) -> dict[str, bool]:
        try:
            i = OrgFeaturesItem.get(keys.org_pk(org_id), keys.ORG_FEATURES_SK)
        except DoesNotExist:
            return {}
        return org_features_from(i)

    def put_org_features(self, org_id: str, features: dict[str, bool], actor: str) -> None:
        org_features_item(org_id, features, _now_iso(), actor).save()

    # -- statements, a page at a time ----------------------------------------------------------

    def _org_stream(
        self, org_id: str, period: str | None, after: StatementPosition | None, page_size: int
    ) -> Iterator[tuple[tuple[str, str, str], Item]]:
        """One organisation's statement-index items, newest first, strictly after
        ``after``, from all shards merged. Keyed (period, org, sk) for the merge."""
        high: str | None = None
        if after is not None:
            if org_id > after.org_id:
                high = f"{after.period}#"  # only older periods
            elif org_id == after.org_id:
                high = keys.org_statements_sk(after.period, after.customer_id, after.version)
            else:
                high = f"{after.period}#{keys.HIGH}"  # this period too
        low = f"{period}#" if period else None
        if period and high is not None and high < low:  # type: ignore[operator]
            return
        streams = []
        for shard in range(keys.STATEMENT_SHARDS):
            cond: Any
            if low is not None and high is not None:
                cond = Item.gsi2sk.between(low, high)
            elif low is not None:
                cond = Item.gsi2sk.startswith(low)
            elif high is not None:
                cond = Item.gsi2sk < high
            else:
                cond = None
            query = Item.org_statements.query(
                keys.org_statements_pk(org_id, shard),
                cond,
                scan_index_forward=False,
                page_size=page_size,
            )
            streams.append(self._keyed(org_id, query, high))
        yield from heapq.merge(*streams, key=lambda kv: kv[0], reverse=True)

    @staticmethod
    def _keyed(
        org_id: str, items: Any, high: str | None
    ) -> Iterator[tuple[tuple[str, str, str], Item]]:
        for item in items:
            sk = item.gsi2sk or ""
            if high is not None and sk >= high:
                continue  # BETWEEN is inclusive: the cursor's own statement
            period = sk.split("#", 1)[0]
            yield (period, org_id, sk), item

    def statements_page(
        self,
        org_ids: Sequence[str],
        *,
        period: str | None,
        status: str | None,
        limit: int,
        after: StatementPosition | None,
    ) -> tuple[list[Statement], StatementPosition | None]:
        """Up to ``limit`` statements of ``org_ids``, newest period first (then by
        organisation and customer, descending), with their adjustments; and where the
        page ended when more may follow. In descending key order a statement's
        adjustments come just before it."""
        # Each shard holds about 1/8 of the page: ask each for a share (plus slack for
        # adjustments); a shard that has more is read further only when the merge needs it.
        page_size = min(1000, limit // keys.STATEMENT_SHARDS * 2 + 5)
        merged = heapq.merge(
            *(self._org_stream(o, period, after, page_size) for o in sorted(set(org_ids))),
            key=lambda kv: kv[0],
            reverse=True,
        )
        found: list[Statement] = []
        pending: list[Adjustment] = []
        for _, item in merged:
            if isinstance(item, AdjustmentItem):
                pending.append(adjustment_from(item))
                continue
            if not isinstance(item, StatementItem):
                continue
            adjustments = tuple(sorted(pending, key=lambda a: a.number))
            pending = []
            # The status as read (a claim past its expiry reads send_failed or
            # send_unknown), not as stored, so the review queue finds both.
            if status is not None and str(delivery_status(item)) != status:
                continue
            found.append(statement_from(item, adjustments=adjustments))
            if len(found) == limit:
                last = found[-1]
                return found, StatementPosition(
                    str(last.period), last.org_id, last.customer_id, last.version
                )
        return found, None

    def customer_statements(
        self, org_id: str, customer_id: str, period: str | None
    ) -> list[StatementItem]:
        """A customer's statement items, newest first (one Query on GSI1)."""
        prefix = keys.statement_view_sk(period) if period else keys.STATEMENT_VIEW_PREFIX
        return [
            i
            for i in Item.customer_view.query(
                keys.customer_view_pk(org_id, customer_id),
                Item.gsi1sk.startswith(prefix),
                scan_index_forward=False,
            )
            if isinstance(i, StatementItem)
        ]
