"""Cognito adapter for signing in (password, then the SOFTWARE_TOKEN_MFA challenge),
refreshing and signing out. Only this module talks to cognito-idp for the API.

Every way a sign-in can fail (unknown user, wrong password, wrong or missing code, a
user without MFA) raises the same LoginFailedError, so a caller cannot tell which
part was wrong; the reason is kept on the exception for the log, never the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from psa_billing.auth.errors import AuthUnavailableError, LoginFailedError

# Cognito codes that mean "these credentials are not good", whatever the detail.
_REFUSED = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "CodeMismatchException",
        "ExpiredCodeException",
        "EnableSoftwareTokenMFAException",
        "PasswordResetRequiredException",
        "UserNotConfirmedException",
        "InvalidParameterException",
        "MFAMethodNotFoundException",
    }
)


_BAD_REFRESH = "the refresh token is invalid, expired or signed out"
_BAD_ACCESS = "the access token is invalid, expired or signed out"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int


class CognitoAuth:
    def __init__(self, client: Any, client_id: str) -> None:
        self._idp = client
        self._client_id = client_id

    def _call(self, op: str, *, refused: str | None = None, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._idp, op)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REFUSED:
                if refused:
                    raise LoginFailedError(f"{op}: {code}", refused) from None
                raise LoginFailedError(f"{op}: {code}") from None
            raise AuthUnavailableError(f"{op}: {code or 'error'}") from None
        return result

    def login(self, email: str, password: str, mfa_code: str | None) -> Tokens:
        first = self._call(
            "initiate_auth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=self._client_id,
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        if first.get("ChallengeName") != "SOFTWARE_TOKEN_MFA":
            # Tokens straight from the password, or any other challenge: the API only
            # signs in users with MFA enrolled (`psa-billing users add` enrols it).
            raise LoginFailedError(f"no MFA challenge ({first.get('ChallengeName')})")
        if not mfa_code:
            raise LoginFailedError("no MFA code given")
        second = self._call(
            "respond_to_auth_challenge",
            ClientId=self._client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=first["Session"],
            ChallengeResponses={"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": mfa_code},
        )
        result = second.get("AuthenticationResult")
        if not result:
            raise LoginFailedError(f"unexpected challenge {second.get('ChallengeName')}")
        return Tokens(
            access_token=result["AccessToken"],
            id_token=result["IdToken"],
            refresh_token=result["RefreshToken"],
            expires_in=int(result.get("ExpiresIn", 3600)),
        )

    def refresh(self, refresh_token: str) -> Tokens:
        out = self._call(
            "initiate_auth",
            refused=_BAD_REFRESH,
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=self._client_id,
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        result = out.get("AuthenticationResult") or {}
        if "AccessToken" not in result:
            raise LoginFailedError("refresh gave no tokens", _BAD_REFRESH)
        return Tokens(
            access_token=result["AccessToken"],
            id_token=result.get("IdToken", ""),
            # Cognito does not rotate refresh tokens unless rotation is switched on.
            refresh_token=result.get("RefreshToken", refresh_token),
            expires_in=int(result.get("ExpiresIn", 3600)),
        )

    def logout(self, access_token: str) -> None:
        """Global sign-out: every refresh token of the user stops working."""
        self._call("global_sign_out", refused=_BAD_ACCESS, AccessToken=access_token)
