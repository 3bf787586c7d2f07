"""The API function's settings, read once and typed (STYLE.md 5).

On AWS the template sets them on the API function; locally the local API server
(psa_billing_dev.local.api_server) sets the few that differ (the JWKS URL on the
moto server, the local machine-token issuer).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Resource names have no defaults: a function deployed without its environment fails
    # at its first request, naming the variable, rather than talk to another table.
    data_table: str
    statements_bucket: str
    state_machine_arn: str
    aws_default_region: str = "us-east-1"
    user_pool_id: str
    user_pool_client_id: str
    # Configured separately: moto's tokens carry the real-looking Cognito issuer while
    # its keys are served by the local endpoint.
    auth_issuer: str
    auth_jwks_url: str
    # A second trusted issuer for machine tokens (locally: the local token endpoint;
    # on AWS machine tokens come from the Cognito issuer above, so this stays empty).
    machine_token_issuer: str = ""
    machine_token_jwks_url: str = ""
    # The resource-server scope a machine client needs to read billing data.
    machine_read_scope: str = "psa-billing/billing.read"
    token_leeway_seconds: int = 30
    # Memberships are read by key and kept this long in a warm function.
    membership_cache_seconds: int = 30
    # Signs list cursors. On AWS it comes from Secrets Manager (cursor_secret_id).
    cursor_secret: SecretStr = SecretStr("")
    cursor_secret_id: str = ""
    idempotency_table: str
    render_function_name: str
    send_function_name: str
    pdf_url_seconds: int = 300
    # Locally the moto server's URL, so PDF links open outside the stack's process.
    pdf_link_endpoint: str = ""
    # Sign-in lockout (docs/api.md "Lockout"): this many failures in the window lock
    # the account for lock_seconds.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    login_lock_seconds: int = 900


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
