"""Wiring for the Lambda handlers and the CLI: the AWS adapters, built lazily once.

Nothing here runs at import time; the first call reads the settings it needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from psa_billing import config
from psa_billing.dal.delivery import DynamoDeliveryLog
from psa_billing.dal.leases import DynamoLeases
from psa_billing.dal.mailer import SesMailer
from psa_billing.dal.objects import ObjectStore
from psa_billing.dal.repository import DynamoRepository
from psa_billing.dal.schedule import DynamoSchedule, StepFunctionsStarter
from psa_billing.logic.orgs import OrgCache


@lru_cache(maxsize=1)
def repository() -> DynamoRepository:
    s = config.storage()
    return DynamoRepository(s.data_table, s.aws_default_region)


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    return ObjectStore(config.bucket().statements_bucket)


@lru_cache(maxsize=1)
def leases() -> DynamoLeases:
    repository()  # binds the models to the deployment's table
    return DynamoLeases()


@lru_cache(maxsize=1)
def mailer() -> SesMailer:
    return SesMailer(configuration_set=config.mail().ses_configuration_set)


@lru_cache(maxsize=1)
def org_cache() -> OrgCache:
    return OrgCache(repository().get_org, ttl_seconds=config.storage().org_cache_seconds)


@lru_cache(maxsize=1)
def schedule() -> DynamoSchedule:
    repository()  # binds the models to the deployment's table
    return DynamoSchedule()


@lru_cache(maxsize=1)
def run_starter() -> StepFunctionsStarter:
    return StepFunctionsStarter(config.run().state_machine_arn)


@lru_cache(maxsize=1)
def delivery_log() -> DynamoDeliveryLog:
    repository()  # binds the models to the deployment's table
    return DynamoDeliveryLog()


def utc_now() -> datetime:
    return datetime.now(UTC)


def reset() -> None:
    """Forget the adapters and settings (tests and the local stack change the environment)."""
    config.clear_cache()
    for fn in (
        repository,
        object_store,
        mailer,
        org_cache,
        leases,
        schedule,
        run_starter,
        delivery_log,
    ):
        fn.cache_clear()
