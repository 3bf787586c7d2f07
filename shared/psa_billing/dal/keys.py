"""The single-table key design (docs/data-model.md has the access-pattern table).

Every key is built here and nowhere else.
"""

from __future__ import annotations

import zlib
from datetime import date

# Statements of one organisation are spread over this many GSI2 partitions so a
# 100,000-customer run does not write every statement to one hot partition.
STATEMENT_SHARDS = 8

# Sort keys in the customer view (GSI1). Ids only use [A-Za-z0-9._-], all below "~".
CUSTOMER_SK = "A#CUSTOMER"
REF_FIRST = "A#"
REF_LAST = "R#~"
HIGH = "~"


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


ORGS_PK = "ORGS"


ORG_PREFIX = "ORG#"
CUSTOMER_PREFIX = "CUST#"
OUTCOME_PREFIX = "OUT#"


def org_sk(org_id: str) -> str:
    return f"{ORG_PREFIX}{org_id}"


def customer_sk(customer_id: str) -> str:
    return f"{CUSTOMER_PREFIX}{customer_id}"


def customer_view_pk(org_id: str, customer_id: str) -> str:
    return f"ORG#{org_id}#CUST#{customer_id}"


def record_pk(org_id: str, kind: str, record_id: str) -> str:
    """Devices, tickets, projects, contracts and time entries are keyed by their own id
    (upsert by id), and reach their customer through GSI1."""
    return f"ORG#{org_id}#{kind}#{record_id}"


RECORD_SK = "#"


def ref_sk(kind: str, record_id: str) -> str:
    return f"{ref_prefix(kind)}{record_id}"


def ref_prefix(kind: str) -> str:
    return f"R#{kind}#"


def entry_sk(day: date | str, entry_id: str) -> str:
    return f"T#{day}#{entry_id}"


def entries_between(first: date, last: date) -> tuple[str, str]:
    return f"T#{first.isoformat()}", f"T#{last.isoformat()}#{HIGH}"


def statement_pk(statement_id: str) -> str:
    return f"STMT#{statement_id}"


STATEMENT_SK = "#STMT"


def adjustment_sk(number: int) -> str:
    return f"ADJ#{number:05d}"


def adjustment_request_pk(statement_id: str, request_hash: str) -> str:
    """The record that one request (its Idempotency-Key, per signed-in person) made an
    adjustment of this statement: in a partition of its own, so nothing that reads the
    statement's partition meets it."""
    return f"ADJREQ#{statement_id}#{request_hash}"


def _version_suffix(version: int) -> str:
    """Version 1 keeps the keys statements always had (nothing is migrated); a re-bill
    after a void (docs/data-model.md "Billed once") sorts right after the void one's
    adjustments: "V" sorts after "ADJ"."""
    return "" if version == 1 else f"#V{version:05d}"


def statement_view_sk(period: str, version: int = 1) -> str:
    """A statement in its customer's view (GSI1): the API lists a customer's statements."""
    return f"S#{period}{_version_suffix(version)}"


def statement_shard(customer_id: str) -> int:
    return zlib.crc32(customer_id.encode()) % STATEMENT_SHARDS


def org_statements_pk(org_id: str, shard: int) -> str:
    return f"ORG#{org_id}#STMTS#{shard}"


def org_statements_sk(period: str, customer_id: str, version: int = 1) -> str:
    return f"{period}#{customer_id}{_version_suffix(version)}"


def org_adjustment_sk(period: str, customer_id: str, number: int, version: int = 1) -> str:
    """Sorts right after its statement's GSI2 key: ids never contain "#", and every
    character they may contain sorts after it."""
    return f"{org_statements_sk(period, customer_id, version)}#{adjustment_sk(number)}"


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


RUN_SK = "#RUN"


def outcome_sk(org_id: str, customer_id: str) -> str:
    return f"{OUTCOME_PREFIX}{org_id}#{customer_id}"


# -- S3 object keys (the statements bucket) ------------------------------------------


def pdf_key(org_id: str, period: str, customer_id: str, revision: int, version: int = 1) -> str:
    """One object per revision, never overwritten (docs/billing-rules.md "Re-send"). A
    re-bill's PDFs are in a folder of their version ("/" is never in an id), so they
    never take a void statement's keys."""
    folder = "" if version == 1 else f"v{version}/"
    return f"statements/{org_id}/{period}/{folder}{customer_id}-r{revision}.pdf"


def logo_key(org_id: str, logo: str) -> str:
    """An organisation's logo, named by its content (``OrgSettings.logo``: sha256 and
    extension), so a stored logo never changes and can be cached by key. Under
    ``statements/``: the functions that render read it with the PDFs' grants."""
    return f"statements/{org_id}/logo/{logo}"


def manifest_key(run_id: str) -> str:
    return f"runs/{run_id}/manifest.json"


# --- InvoiceNinja sync (owned by the invoiceninja branch; docs/invoiceninja.md) ---------
# One partition per organisation holds its customers' InvoiceNinja client mappings; one
# partition per pushed project or ticket holds its push lock and push records.

IN_CLIENT_PREFIX = "INCLIENT#"
IN_LOCK_SK = "#LOCK"
IN_PUSH_PREFIX = "PUSH#"


def invoiceninja_clients_pk(org_id: str) -> str:
    return f"ORG#{org_id}#IN"


def invoiceninja_client_sk(customer_id: str) -> str:
    return f"{IN_CLIENT_PREFIX}{customer_id}"


def invoiceninja_source_pk(org_id: str, source_kind: str, source_id: str) -> str:
    return f"ORG#{org_id}#IN#{source_kind}#{source_id}"


def invoiceninja_push_sk(key: str) -> str:
    return f"{IN_PUSH_PREFIX}{key}"


# -- organisation-wide project list (GSI2, beside the statement shards) ----------------


def org_projects_pk(org_id: str) -> str:
    """Every project of an organisation in one GSI2 partition, sorted by code: the
    InvoiceNinja list joins po_number to project codes with one Query."""
    return f"ORG#{org_id}#PROJECTS"


def org_project_sk(code: str, project_id: str) -> str:
    return f"{code}#{project_id}"


ENTRY_PREFIX = "T#"


# -- imports and runs exclude each other per organisation (logic/leases.py) -----------

IMPORT_LEASE_SK = "#LEASE#IMPORT"
RUN_LEASE_PREFIX = "#LEASE#RUN#"
IMPORT_STATE_SK = "#IMPORT"


def run_lease_sk(run_id: str) -> str:
    return f"{RUN_LEASE_PREFIX}{run_id}"


# ----------------------------------------------------------------------------------------
# API access (branch `api`): see models.py's block of the same name.


def user_pk(user_sub: str) -> str:
    return f"USER#{user_sub}"


USER_SK = "#USER"
MEMBERSHIP_PREFIX = "ORG#"


def membership_sk(org_id: str) -> str:
    return f"{MEMBERSHIP_PREFIX}{org_id}"


def org_members_pk(org_id: str) -> str:
    return f"ORG#{org_id}#MEMBERS"


def member_sk(user_sub: str) -> str:
    return f"USER#{user_sub}"


def machine_client_pk(client_id: str) -> str:
    return f"MCLIENT#{client_id}"


MACHINE_CLIENT_SK = "#"


def org_clients_pk(org_id: str) -> str:
    return f"ORG#{org_id}#MCLIENTS"


def login_failure_pk(account_hash: str) -> str:
    """Keyed by a hash of the lower-cased email: the table never holds who tried."""
    return f"LOGINFAIL#{account_hash}"


LOGIN_FAILURE_SK = "#"


def settings_history_pk(org_id: str, customer_id: str) -> str:
    return f"ORG#{org_id}#CUST#{customer_id}#HIST"


def settings_history_sk(at: str, change_id: str) -> str:
    return f"{at}#{change_id}"


def org_runs_pk(org_id: str) -> str:
    return f"ORG#{org_id}#RUNS"


def org_run_sk(started_at: str, run_id: str) -> str:
    return f"{started_at}#{run_id}"


def active_run_pk(org_id: str, period: str) -> str:
    return f"ORG#{org_id}#ACTIVE#{period}"


ACTIVE_RUN_SK = "#"
ORG_FEATURES_SK = "#FEATURES"
STATEMENT_VIEW_PREFIX = "S#"


# -- statement numbers (one gapless sequence per organisation) ------------------------

NUMBER_COUNTER_SK = "#SEQ"


def number_sk(number: str) -> str:
    return f"#NUM#{number}"


# -- the daily schedule's record of the runs it started (logic/schedule.py) ------------
# In the organisations' partition, by period first: one Query lists a period's records.


def scheduled_prefix(period: str) -> str:
    return f"SCHED#{period}#"


def scheduled_sk(period: str, org_id: str) -> str:
    return f"{scheduled_prefix(period)}{org_id}"


# -- delivery you can see (dal/delivery.py) ---------------------------------------------


def message_pk(message_id: str) -> str:
    """An SES message id -> the statement revision it emailed (written with the send)."""
    return f"MSG#{message_id}"


MESSAGE_SK = "#"
DELIVERY_EVENT_PREFIX = "DLV#"


def delivery_event_sk(at: str, notification_id: str) -> str:
    """In the statement's partition, after its adjustments, in time order; the SNS
    notification id makes a redelivered notification land on the same item."""
    return f"{DELIVERY_EVENT_PREFIX}{at}#{notification_id}"


# -- review evidence: a customer's latest statements, summarised (domain/review.py) ----
# Beside the customer in its view (GSI1), so the bill step's first Query returns it.

LAST_STATEMENTS_SK = "#LASTSTMTS"
LAST_STATEMENTS_VIEW_SK = "B#LASTSTMTS"  # between REF_FIRST and REF_LAST
