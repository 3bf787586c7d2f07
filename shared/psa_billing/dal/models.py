"""pynamodb models of the single data table. Only the dal package imports pynamodb.

Money and dates are strings (docs/architecture.md 2: NumberAttribute hands back floats).
The table itself is declared in template.yaml; ``bind`` points the models at it.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class CustomerViewIndex(GlobalSecondaryIndex["Item"]):
    """GSI1: everything about one customer, sorted so that a period is two Queries."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class OrgStatementsIndex(GlobalSecondaryIndex["Item"]):
    """GSI2: an organisation's statements by period, spread over a few shards."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Item(Model):
    class Meta:
        table_name = "psa-billing-local-data"
        region = "us-east-1"
        # One client per warm function; locally many handlers share it concurrently.
        max_pool_connections = 32

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    org_id = UnicodeAttribute()

    customer_view = CustomerViewIndex()
    org_statements = OrgStatementsIndex()


class OrgItem(Item, discriminator="org"):
    name = UnicodeAttribute(default="")
    address = UnicodeAttribute(default="")  # lines joined by "\n"
    email = UnicodeAttribute(default="")
    updated_at = UnicodeAttribute()
    # Every setting (domain.org.OrgSettings.public(): camelCase JSON); name, address and
    # email are also kept above for readers of the item.
    settings = UnicodeAttribute(null=True)


class CustomerItem(Item, discriminator="customer"):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    per_device_rate = UnicodeAttribute()
    default_hourly_rate = UnicodeAttribute()
    tax_percent = UnicodeAttribute()
    currency = UnicodeAttribute()
    auto_send = BooleanAttribute()
    billing_email = UnicodeAttribute()
    # The customer's optional statement details (serde.profile_to_json), absent when none.
    profile = UnicodeAttribute(null=True)


class DeviceItem(Item, discriminator="device"):
    record_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    linked_on = UnicodeAttribute()
    unlinked_on = UnicodeAttribute(null=True)


class TicketItem(Item, discriminator="ticket"):
    record_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    subject = UnicodeAttribute()
    number = UnicodeAttribute(null=True)


class ProjectItem(Item, discriminator="project"):
    record_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    code = UnicodeAttribute()
    name = UnicodeAttribute()
    billable = BooleanAttribute()
    hourly_rate = UnicodeAttribute(null=True)


class ContractItem(Item, discriminator="contract"):
    record_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    included_hours = UnicodeAttribute()
    overage_hourly_rate = UnicodeAttribute(null=True)
    start_date = UnicodeAttribute()
    end_date = UnicodeAttribute(null=True)


class TimeEntryItem(Item, discriminator="entry"):
    record_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute()
    minutes = NumberAttribute()
    billable = BooleanAttribute()
    ticket_id = UnicodeAttribute(null=True)
    project_id = UnicodeAttribute(null=True)
    description = UnicodeAttribute(default="")
    user_id = UnicodeAttribute(default="")


class StatementItem(Item, discriminator="statement"):
    statement_id = UnicodeAttribute()
    number = UnicodeAttribute(null=True)  # the organisation's sequence (domain Numbering)
    customer_id = UnicodeAttribute()
    customer_name = UnicodeAttribute()
    period = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    revision = NumberAttribute(default=0)
    lines = UnicodeAttribute()  # JSON, immutable once written ("" when in S3: body_key)
    subtotal = UnicodeAttribute()
    tax_percent = UnicodeAttribute()
    tax = UnicodeAttribute()
    total = UnicodeAttribute()
    auto_send = BooleanAttribute()
    billing_email = UnicodeAttribute()
    created_at = UnicodeAttribute()
    run_id = UnicodeAttribute()
    inputs = BinaryAttribute(legacy_encoding=False)  # gzip JSON of StatementInputs
    # The customer's details as billed (serde.profile_to_json), absent when none were set.
    profile = UnicodeAttribute(null=True)
    # Set when lines and inputs are too large for the item: where they are (dal/bodies.py).
    body_key = UnicodeAttribute(null=True)
    send_attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    sent_revision = NumberAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    claimed_revision = NumberAttribute(null=True)
    claim_expires_at = UnicodeAttribute(null=True)  # ISO UTC; see StatementStatus.SEND_UNKNOWN
    # ISO UTC, set by the claim (and the claim's token for the hand-over); absent on
    # claims taken before hand-overs were recorded, which read send_unknown once expired.
    claimed_at = UnicodeAttribute(null=True)
    # ISO UTC: the claim's sender is about to call SES (docs/data-model.md). Past the
    # claim's expiry, absent = nothing was sent (send_failed), present = send_unknown.
    handed_to_ses_at = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)  # SES message id of the last send
    delivery = UnicodeAttribute(null=True)  # JSON: SES's last event about that send
    evidence = UnicodeAttribute(null=True)  # JSON: domain/review.py Evidence
    # Re-billing after a void (docs/data-model.md "Billed once"). ``version``: absent = 1.
    # The version-1 item (key ``STMT#org:customer:period``) is the period's slot: its
    # ``latest_version`` (absent = 1) is the newest statement of the period and
    # ``latest_void`` whether that one is void; a version n + 1 is created only in the
    # transaction that moves the slot from "n, void" to "n + 1, not void".
    version = NumberAttribute(null=True)
    latest_version = NumberAttribute(null=True)
    latest_void = BooleanAttribute(null=True)
    # The void notice to a customer who had been sent the statement (at most once). Its
    # claim (``void_notice_claimed_at``, ISO UTC, the token; expires CLAIM_SECONDS after)
    # and ``void_notice_handed_at``, set just before SES is called: past the expiry,
    # absent = released (nothing sent), present = unknown (docs/data-model.md).
    void_notice_claimed_at = UnicodeAttribute(null=True)
    void_notice_handed_at = UnicodeAttribute(null=True)
    void_notice_marked_by = UnicodeAttribute(null=True)  # a person: its outcome was unknown
    void_notice_sent_at = UnicodeAttribute(null=True)
    void_notice_message_id = UnicodeAttribute(null=True)
    void_notice_error = UnicodeAttribute(null=True)


class AdjustmentItem(Item, discriminator="adjustment"):
    """Appended after the statement item (same pk), never changed."""

    statement_id = UnicodeAttribute()
    number = NumberAttribute()
    adjustment_kind = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    reason = UnicodeAttribute()
    line_id = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    quantity = UnicodeAttribute(null=True)
    unit_price = UnicodeAttribute(null=True)
    amount = UnicodeAttribute(null=True)
    lines = UnicodeAttribute(null=True)  # late time: JSON of the lines it appends
    entry_ids = UnicodeAttribute(null=True)  # late time: JSON list of the entries billed


class AdjustmentRequestItem(Item, discriminator="adjustment_request"):
    """Written in the adjustment's own transaction when the request carried an
    Idempotency-Key: the same request, run again, finds it and appends nothing
    (docs/reliability.md)."""

    statement_id = UnicodeAttribute()
    number = NumberAttribute()  # the adjustment the request made


class CounterItem(Item, discriminator="counter"):
    """An organisation's statement number sequence: ``next`` is the number the next
    statement gets (a count, not money)."""

    next = NumberAttribute()


class NumberItem(Item, discriminator="number"):
    """A statement number, taken: finds the statement by its number, and makes sure no
    number is used twice."""

    statement_id = UnicodeAttribute()


class LeaseItem(Item, discriminator="lease"):
    """An organisation's import lease (one) or a run's lease (one per run); free once
    ``expires_at`` (epoch seconds, a time, not money) has passed."""

    holder = UnicodeAttribute()
    expires_at = NumberAttribute()


class ImportStateItem(Item, discriminator="import"):
    """The organisation's last import: incomplete until every item was written."""

    status = UnicodeAttribute()  # "writing" | "complete"
    holder = UnicodeAttribute()
    document_sha256 = UnicodeAttribute()
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    items_written = NumberAttribute(default=0)


class RunItem(Item, discriminator="run"):
    run_id = UnicodeAttribute()
    period = UnicodeAttribute()
    org_ids = UnicodeAttribute(default="")  # comma separated; "" = every organisation
    leased_org_ids = UnicodeAttribute(default="")  # comma separated: run leases held
    status = UnicodeAttribute()
    total = NumberAttribute(default=0)
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    counts = UnicodeAttribute(null=True)  # JSON
    error = UnicodeAttribute(null=True)


class OutcomeItem(Item, discriminator="outcome"):
    run_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    outcome = UnicodeAttribute()
    statement_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    # Already billed: late entries waiting for a late-time adjustment (count, minutes).
    late_entries = NumberAttribute(null=True)
    late_minutes = NumberAttribute(null=True)


def bind(table_name: str, region: str) -> None:
    """Point every model at the deployment's table (read from settings once)."""
    meta: Any = Item.Meta
    if meta.table_name != table_name or meta.region != region:
        meta.table_name = table_name
        meta.region = region
        Item._connection = None


# --- InvoiceNinja sync (owned by the invoiceninja branch; dal/invoiceninja_store.py) ---


class InvoiceNinjaClientItem(Item, discriminator="in_client"):
    """A portal customer's InvoiceNinja client; ``in_client_id`` is absent while claimed."""

    customer_id = UnicodeAttribute()
    in_client_id = UnicodeAttribute(null=True)
    claim_id = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)  # ISO 8601 UTC, compared as text


class InvoiceNinjaLockItem(Item, discriminator="in_lock"):
    """Held while one push of a project or ticket runs."""

    claim_id = UnicodeAttribute()
    claimed_at = UnicodeAttribute()


class InvoiceNinjaPushItem(Item, discriminator="in_push"):
    """What one push sent; its time entries are never pushed again."""

    push_key = UnicodeAttribute()
    source_kind = UnicodeAttribute()
    source_id = UnicodeAttribute()
    document_kind = UnicodeAttribute()
    document_id = UnicodeAttribute()
    document_number = UnicodeAttribute(default="")
    in_client_id = UnicodeAttribute()
    entry_ids = UnicodeAttribute()  # JSON list
    pushed_at = UnicodeAttribute()


# ----------------------------------------------------------------------------------------
# API access (branch `api`): memberships, machine clients, sign-in failure counters,
# billing-settings history, an organisation's runs and feature flags.
# Keys are built in keys.py (its block of the same name); the adapter is dal/access.py.


class MembershipItem(Item, discriminator="membership"):
    """A user's role in one organisation (pk USER#<sub>, one item per organisation);
    GSI1 lists an organisation's members."""

    user_sub = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class UserItem(Item, discriminator="user"):
    """Per user, beside the memberships: when they last signed out everywhere."""

    user_sub = UnicodeAttribute()
    email = UnicodeAttribute()
    signed_out_at = NumberAttribute(null=True)  # epoch seconds; older tokens are refused


class MachineClientItem(Item, discriminator="machine_client"):
    client_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    scope = UnicodeAttribute()
    created_at = UnicodeAttribute()


class LoginFailureItem(Item, discriminator="login_failure"):
    failures = NumberAttribute(default=0)
    first_at = NumberAttribute()  # epoch seconds of the first failure in the window
    locked_until = NumberAttribute(null=True)


class SettingsChangeItem(Item, discriminator="settings_change"):
    customer_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    changes = UnicodeAttribute()  # JSON {field: {"from": old, "to": new}}


class OrgRunItem(Item, discriminator="org_run"):
    """An organisation's listing of the runs that billed it (newest first by sk)."""

    run_id = UnicodeAttribute()
    period = UnicodeAttribute()
    started_at = UnicodeAttribute()
    started_by = UnicodeAttribute(default="")
    execution_arn = UnicodeAttribute(default="")


class ActiveRunItem(Item, discriminator="active_run"):
    """The latest run started for one (organisation, period): a second start while it
    is still running is refused with a conditional write on this item."""

    run_id = UnicodeAttribute()
    period = UnicodeAttribute()
    execution_arn = UnicodeAttribute()


class OrgFeaturesItem(Item, discriminator="org_features"):
    features = UnicodeAttribute(default="{}")  # JSON {flag: bool}
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(default="")


# -- the daily schedule (dal/schedule.py) ---------------------------------------------


class ScheduledRunItem(Item, discriminator="scheduled_run"):
    """The schedule started (or is starting) this organisation's run for ``period``
    (pk ORGS, sk SCHED#<period>#<org>); written with a condition, so once."""

    period = UnicodeAttribute()
    run_id = UnicodeAttribute()
    due_at = UnicodeAttribute()  # ISO UTC: the billing moment
    claimed_at = UnicodeAttribute()  # ISO UTC, the wake-up's clock
    state = UnicodeAttribute()  # "claimed" | "started"
    execution_arn = UnicodeAttribute(null=True)


# -- delivery you can see (dal/delivery.py) -------------------------------------------


class MessageItem(Item, discriminator="message"):
    """An SES message id (pk MSG#<id>): which statement revision that send emailed."""

    statement_id = UnicodeAttribute()
    revision = NumberAttribute()


class DeliveryEventItem(Item, discriminator="delivery_event"):
    """One SES event about a statement's mail (pk STMT#<id>, sk DLV#<at>#<notification>),
    appended, never changed."""

    statement_id = UnicodeAttribute()
    event = UnicodeAttribute()  # JSON of DeliveryEvent.public()


# -- review evidence (domain/review.py) ------------------------------------------------


class LastStatementsItem(Item, discriminator="last_statements"):
    """A customer's latest statement and the one before, summarised (pk
    ORG#<org>#CUST#<cust>, sk #LASTSTMTS; in the customer view at B#LASTSTMTS).
    Rewritten by the transaction that creates a statement, guarded by ``version``."""

    customer_id = UnicodeAttribute()
    summaries = UnicodeAttribute()  # JSON {"latest": {...} | null, "before": {...} | null}
    version = NumberAttribute()
