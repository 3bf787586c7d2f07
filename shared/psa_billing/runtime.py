"""Wiring for the Lambda handlers and the CLI: the AWS adapters, built lazily once.

Nothing here runs at import time; the first call reads the settings it needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from psa_billing import config
from psa_billing.dal.mailer import SesMailer
from psa_billing.dal.objects import ObjectStore
from psa_billing.dal.repository import DynamoRepository
from psa_billing.logic.orgs import OrgCache


@lru_cache(maxsize=1)
def repository() -> DynamoRepository:
    s = config.storage()
    return DynamoRepository(s.data_table, s.aws_default_region)


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    return ObjectStore(config.bucket().statements_bucket)


@lru_cache(maxsize=1)
def mailer() -> SesMailer:
    return SesMailer()


@lru_cache(maxsize=1)
def org_cache() -> OrgCache:
    return OrgCache(repository().get_org, ttl_seconds=config.storage().org_cache_seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def reset() -> None:
    """Forget the adapters and settings (tests and the local stack change the environment)."""
    config.clear_cache()
    for fn in (repository, object_store, mailer, org_cache):
        fn.cache_clear()
