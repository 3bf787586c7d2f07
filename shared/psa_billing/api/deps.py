"""Dependencies of the routes, as ``Annotated[..., Depends(...)]`` aliases.

Adapters are built once per warm function (lru_cache) from the settings; tests
override them with ``app.dependency_overrides``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from psa_billing.api.cursor import CursorCodec
from psa_billing.api.idempotency import Idempotency
from psa_billing.api.settings import ApiSettings, get_api_settings
from psa_billing.auth.cognito import CognitoAuth
from psa_billing.auth.errors import InvalidTokenError
from psa_billing.auth.roles import Principal
from psa_billing.auth.verifier import TokenVerifier, TrustedIssuer, jwks_client
from psa_billing.dal.access import AccessRepository, MachineClient, UserAccess
from psa_billing.dal.repository import DynamoRepository
from psa_billing.dal.workers import LambdaStatementWorkers, S3Links, StepFunctionsRuns
from psa_billing.logic.billing_api import Links, Runs, StatementWorkers
from psa_billing.logic.signin import LockoutRule, TtlCache, resolve_principal

_bearer = HTTPBearer(auto_error=False, description="A Cognito access token")


@lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    s = get_api_settings()
    issuers = [TrustedIssuer(s.auth_issuer, jwks_client(s.auth_jwks_url))]
    if s.machine_token_issuer:
        issuers.append(TrustedIssuer(s.machine_token_issuer, jwks_client(s.machine_token_jwks_url)))
    return TokenVerifier(issuers, leeway_seconds=s.token_leeway_seconds)


@lru_cache(maxsize=1)
def access_repository() -> AccessRepository:
    s = get_api_settings()
    return AccessRepository(s.data_table, s.aws_default_region)


@lru_cache(maxsize=1)
def repository() -> DynamoRepository:
    s = get_api_settings()
    return DynamoRepository(s.data_table, s.aws_default_region)


@lru_cache(maxsize=1)
def user_cache() -> TtlCache[str, UserAccess]:
    return TtlCache(get_api_settings().membership_cache_seconds)


@lru_cache(maxsize=1)
def machine_cache() -> TtlCache[str, MachineClient | None]:
    return TtlCache(get_api_settings().membership_cache_seconds)


@lru_cache(maxsize=1)
def cognito() -> CognitoAuth:
    import boto3  # noqa: PLC0415 - boto3 only for the routes that use it (cold start)

    s = get_api_settings()
    return CognitoAuth(boto3.client("cognito-idp"), s.user_pool_client_id)


@lru_cache(maxsize=1)
def workers() -> StatementWorkers:
    s = get_api_settings()
    return LambdaStatementWorkers(s.render_function_name, s.send_function_name)


@lru_cache(maxsize=1)
def runs() -> Runs:
    return StepFunctionsRuns(get_api_settings().state_machine_arn)


@lru_cache(maxsize=1)
def links() -> Links:
    s = get_api_settings()
    return S3Links(s.statements_bucket, link_endpoint=s.pdf_link_endpoint)


@lru_cache(maxsize=1)
def idempotency() -> Idempotency:
    return Idempotency(get_api_settings().idempotency_table)


@lru_cache(maxsize=1)
def signing_secret() -> bytes:
    """The API's one server secret (env locally, Secrets Manager on AWS). List cursors
    are signed with it; the pages derive their CSRF key from it (web/csrf.py)."""
    s = get_api_settings()
    secret = s.cursor_secret.get_secret_value()
    if not secret and s.cursor_secret_id:
        from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - AWS only

        secret = str(parameters.get_secret(s.cursor_secret_id, max_age=3600))
    if not secret:
        raise RuntimeError("CURSOR_SECRET or CURSOR_SECRET_ID must be set")
    return secret.encode()


@lru_cache(maxsize=1)
def cursor_codec() -> CursorCodec:
    return CursorCodec(signing_secret())


def lockout_rule() -> LockoutRule:
    s = get_api_settings()
    return LockoutRule(s.login_max_failures, s.login_window_seconds, s.login_lock_seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidTokenError("no bearer token")
    return credentials.credentials


def current_principal(
    token: Annotated[str, Depends(bearer_token)],
    settings: Annotated[ApiSettings, Depends(get_api_settings)],
    v: Annotated[TokenVerifier, Depends(verifier)],
    access: Annotated[AccessRepository, Depends(access_repository)],
) -> Principal:
    """The caller, from the verified token alone (never from API Gateway's context)."""
    return principal_of(token, settings, v, access)


def principal_of(
    token: str, settings: ApiSettings, v: TokenVerifier, access: AccessRepository
) -> Principal:
    """A bearer token or the pages' session cookie: verified and resolved the same way."""
    return resolve_principal(
        v.verify(token),
        user_client_id=settings.user_pool_client_id,
        machine_scope=settings.machine_read_scope,
        access=access,
        users=user_cache(),
        machines=machine_cache(),
    )


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Retries with the same key return the first answer.",
        ),
    ] = None,
) -> str | None:
    return key


def lambda_context(request: Request) -> Any:
    """The Lambda context Mangum puts in the ASGI scope (None when served by uvicorn)."""
    return request.scope.get("aws.context")


def route_of(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


Settings = Annotated[ApiSettings, Depends(get_api_settings)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
BearerToken = Annotated[str, Depends(bearer_token)]
Access = Annotated[AccessRepository, Depends(access_repository)]
Repository = Annotated[DynamoRepository, Depends(repository)]
Cognito = Annotated[CognitoAuth, Depends(cognito)]
Workers = Annotated[StatementWorkers, Depends(workers)]
RunStarter = Annotated[Runs, Depends(runs)]
PdfLinks = Annotated[Links, Depends(links)]
Idem = Annotated[Idempotency, Depends(idempotency)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Cursors = Annotated[CursorCodec, Depends(cursor_codec)]
Lockout = Annotated[LockoutRule, Depends(lockout_rule)]
Verifier = Annotated[TokenVerifier, Depends(verifier)]
Route = Annotated[str, Depends(route_of)]
LambdaCtx = Annotated[Any, Depends(lambda_context)]
