"""Deployment settings, read once and typed (docs/architecture.md 5: nothing reads
os.environ at import).

Resource names have no defaults: a function deployed without its environment must fail
at once, naming the missing variable, rather than talk to some other table. Each
function reads only the settings its code uses (its template Environment sets them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from psa_billing.domain.errors import BillingError


class ConfigurationError(BillingError):
    """A required environment variable is missing or malformed."""


class _Env(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)


class StorageSettings(_Env):
    data_table: str
    aws_default_region: str = "us-east-1"
    # How long an organisation's details are cached in a warm function (seconds).
    org_cache_seconds: int = 300
    # How long an import's lease lasts without renewal (seconds): an import that dies
    # blocks its organisation for at most this long (logic/leases.py).
    import_lease_seconds: int = 30


class BucketSettings(_Env):
    statements_bucket: str


class MailSettings(_Env):
    sender_email: str
    # The SES configuration set every statement mail is sent through: its event
    # destination reports deliveries, bounces and complaints (logic/delivery_events.py).
    ses_configuration_set: str


class RunSettings(_Env):
    state_machine_arn: str


S = TypeVar("S", bound=_Env)


def _read(cls: type[S]) -> S:
    try:
        return cls()
    except ValidationError as exc:
        missing = sorted(
            str(err["loc"][0]).upper() for err in exc.errors() if err["type"] == "missing"
        )
        if missing:
            raise ConfigurationError(
                f"environment variable {', '.join(missing)} is not set"
                " (the template sets it on every function that needs it)"
            ) from None
        raise ConfigurationError(f"bad environment for {cls.__name__}: {exc}") from None


@lru_cache(maxsize=1)
def storage() -> StorageSettings:
    return _read(StorageSettings)


@lru_cache(maxsize=1)
def bucket() -> BucketSettings:
    return _read(BucketSettings)


@lru_cache(maxsize=1)
def mail() -> MailSettings:
    return _read(MailSettings)


@lru_cache(maxsize=1)
def run() -> RunSettings:
    return _read(RunSettings)


def clear_cache() -> None:
    """Forget what was read (tests and the local stack change the environment)."""
    for fn in (storage, bucket, mail, run):
        fn.cache_clear()
