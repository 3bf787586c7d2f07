"""Deployment settings, read once and typed (STYLE.md 5: nothing reads os.environ at import)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Names of the deployment's resources. On AWS the template sets them on every
    function; locally the local stack sets them from the same template."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    data_table: str = "psa-billing-local-data"
    statements_bucket: str = "psa-billing-local-statements-123456789012"
    sender_email: str = "billing@msp.example"
    state_machine_arn: str = ""
    aws_default_region: str = "us-east-1"
    # How long an organisation's details are cached in a warm function (seconds).
    org_cache_seconds: int = 300


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
