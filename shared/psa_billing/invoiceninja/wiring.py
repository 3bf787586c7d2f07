"""The real adapters, built lazily once per warm function (nothing runs at import)."""

from __future__ import annotations

from functools import lru_cache

from psa_billing.invoiceninja.client import InvoiceNinjaClient
from psa_billing.invoiceninja.settings import InvoiceNinjaConfig, get_settings, load_config


@lru_cache(maxsize=2)
def _client_for(config: InvoiceNinjaConfig) -> InvoiceNinjaClient:
    # Keyed by the whole config, so a rotated token (re-read from SSM once the Powertools
    # cache expires) gets a new client and the old one is dropped.
    return InvoiceNinjaClient(config)


def api_client() -> InvoiceNinjaClient | None:
    """The configured client; None when not configured; InvoiceNinjaError(CONFIG) when
    the settings are wrong."""
    config = load_config(get_settings())
    return _client_for(config) if config is not None else None


def reset() -> None:
    """Forget the settings and clients (tests change the environment)."""
    get_settings.cache_clear()
    _client_for.cache_clear()
