"""The real adapters, built lazily once per warm function (nothing runs at import)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from psa_billing.config import storage as storage_settings
from psa_billing.dal.invoiceninja_store import DynamoInvoiceNinjaStore
from psa_billing.invoiceninja.settings import InvoiceNinjaConfig, get_settings, load_config

if TYPE_CHECKING:
    from psa_billing.invoiceninja.client import InvoiceNinjaClient


@lru_cache(maxsize=2)
def _client_for(config: InvoiceNinjaConfig) -> InvoiceNinjaClient:
    # Keyed by the whole config, so a rotated token (re-read from SSM once the Powertools
    # cache expires) gets a new client and the old one is dropped. httpx is imported on
    # the first InvoiceNinja call, not when the API function starts: most of its
    # requests are about statements.
    from psa_billing.invoiceninja.client import InvoiceNinjaClient  # noqa: PLC0415

    return InvoiceNinjaClient(config)


def api_client() -> InvoiceNinjaClient | None:
    """The configured client; None when not configured; InvoiceNinjaError(CONFIG) when
    the settings are wrong."""
    config = load_config(get_settings())
    return _client_for(config) if config is not None else None


@lru_cache(maxsize=1)
def store() -> DynamoInvoiceNinjaStore:
    """Client mappings and push records, in the deployment's data table."""
    s = storage_settings()
    return DynamoInvoiceNinjaStore(s.data_table, s.aws_default_region)


def reset() -> None:
    """Forget the settings and adapters (tests change the environment)."""
    get_settings.cache_clear()
    _client_for.cache_clear()
    store.cache_clear()
