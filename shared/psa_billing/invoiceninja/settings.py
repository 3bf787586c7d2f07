"""InvoiceNinja configuration, read lazily and typed (STYLE.md 5).

Locally everything comes from the environment. On AWS the URL is a template parameter
and the token an SSM SecureString: set ``INVOICENINJA_TOKEN_PARAMETER`` to its name and
the token is read through Powertools Parameters, cached in the warm function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem


class InvoiceNinjaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICENINJA_", extra="ignore", frozen=True)

    url: str = ""
    token: SecretStr = SecretStr("")
    token_parameter: str = ""
    token_cache_seconds: int = 300
    # Where people open InvoiceNinja (the React app), when it is not the API's host.
    ui_url: str = ""
    # invoiceninja-api.md §5: the backend links admins to the hash-router form; a
    # self-hosted browser-router build uses "{ui}/invoices/{id}/edit".
    invoice_url_template: str = "{ui}/#/invoices/{id}/edit"
    quote_url_template: str = "{ui}/#/quotes/{id}/edit"
    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 8.0
    # The whole of one list (every page, retries included) must finish within this, so a
    # slow InvoiceNinja fails the request well inside API Gateway's 29 s.
    deadline_seconds: float = 20.0
    # docs/invoiceninja.md "Page size": 4 requests for 1,000 invoices.
    page_size: int = 250
    max_attempts: int = 3


@dataclass(frozen=True)
class InvoiceNinjaConfig:
    """What the client needs, with the token resolved. Its repr never shows the token."""

    base_url: str
    token: SecretStr = field(repr=False)
    ui_url: str
    invoice_url_template: str
    quote_url_template: str
    connect_timeout: float = 3.0
    read_timeout: float = 8.0
    deadline: float = 20.0
    page_size: int = 250
    max_attempts: int = 3

    def edit_url(self, kind: str, document_id: str) -> str:
        template = self.invoice_url_template if kind == "invoice" else self.quote_url_template
        return template.format(ui=self.ui_url, id=document_id)


def _ssm_parameter(name: str, max_age: int) -> str:
    # Imported here so that nothing loads boto3's SSM client unless a parameter is used.
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    value = parameters.get_parameter(name, decrypt=True, max_age=max_age)
    if not isinstance(value, str):
        raise TypeError("the token parameter is not a string")
    return value


def normalise_url(url: str) -> str:
    """The install's base URL: http(s), no trailing slash, no ``/api/v1`` (we add it)."""
    text = url.strip().rstrip("/")
    text = text.removesuffix("/api/v1").rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvoiceNinjaError(
            Problem.CONFIG, "INVOICENINJA_URL is not an http(s) URL such as https://invoicing.co"
        )
    return text


def load_config(
    settings: InvoiceNinjaSettings,
    read_parameter: Callable[[str, int], str] = _ssm_parameter,
) -> InvoiceNinjaConfig | None:
    """None when InvoiceNinja is not configured; InvoiceNinjaError(CONFIG) when it is
    configured wrongly (a bad URL, an unreadable token parameter)."""
    if not settings.url.strip():
        return None
    token = settings.token.get_secret_value().strip()
    if not token and settings.token_parameter:
        try:
            token = read_parameter(settings.token_parameter, settings.token_cache_seconds).strip()
        except Exception as exc:
            # The parameter's value is never in this message; only its name and the kind
            # of failure, so a missing IAM permission is easy to spot.
            raise InvoiceNinjaError(
                Problem.CONFIG,
                f"the token parameter {settings.token_parameter!r} could not be read "
                f"({type(exc).__name__})",
            ) from None
    if not token:
        return None
    base = normalise_url(settings.url)
    for name, template in (
        ("INVOICENINJA_INVOICE_URL_TEMPLATE", settings.invoice_url_template),
        ("INVOICENINJA_QUOTE_URL_TEMPLATE", settings.quote_url_template),
    ):
        try:
            usable = "{id}" in template and bool(template.format(ui="u", id="i"))
        except (KeyError, IndexError, ValueError):
            usable = False
        if not usable:
            raise InvoiceNinjaError(
                Problem.CONFIG, f"{name} must contain {{id}} and may use only {{ui}} besides"
            )
    return InvoiceNinjaConfig(
        base_url=base,
        token=SecretStr(token),
        ui_url=(settings.ui_url.strip().rstrip("/") or base),
        invoice_url_template=settings.invoice_url_template,
        quote_url_template=settings.quote_url_template,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        deadline=settings.deadline_seconds,
        page_size=max(1, min(settings.page_size, 5000)),
        max_attempts=max(1, settings.max_attempts),
    )


@lru_cache(maxsize=1)
def get_settings() -> InvoiceNinjaSettings:
    return InvoiceNinjaSettings()
