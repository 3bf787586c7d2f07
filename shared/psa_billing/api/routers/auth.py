"""Sign-in, refresh and sign-out through Cognito."""

from __future__ import annotations

from fastapi import APIRouter

from psa_billing.api.deps import Access, BearerToken, Cognito, CurrentPrincipal, Lockout, user_cache
from psa_billing.api.errors import documented
from psa_billing.api.schemas import LoginCreate, LogoutPublic, RefreshCreate, TokensPublic
from psa_billing.logic.signin import sign_in, sign_out

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=TokensPublic,
    responses=documented(401, 429, 503),
    summary="Sign in with email, password and the authenticator app's 6-digit code",
)
def login(body: LoginCreate, idp: Cognito, access: Access, rule: Lockout) -> TokensPublic:
    tokens = sign_in(body.email, body.password, body.mfa_code, idp=idp, failures=access, rule=rule)
    return TokensPublic(
        access_token=tokens.access_token,
        id_token=tokens.id_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post(
    "/refresh",
    response_model=TokensPublic,
    responses=documented(401, 503),
    summary="New access and ID tokens from a refresh token",
)
def refresh(body: RefreshCreate, idp: Cognito) -> TokensPublic:
    tokens = idp.refresh(body.refresh_token)
    return TokensPublic(
        access_token=tokens.access_token,
        id_token=tokens.id_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post(
    "/logout",
    response_model=LogoutPublic,
    responses=documented(401, 503),
    summary="Sign out everywhere: refresh tokens stop working, access tokens are refused",
)
def logout(
    principal: CurrentPrincipal, token: BearerToken, idp: Cognito, access: Access
) -> LogoutPublic:
    done = sign_out(principal, token, idp=idp, store=access, forget=user_cache().forget)
    return LogoutPublic(signed_out=done)
