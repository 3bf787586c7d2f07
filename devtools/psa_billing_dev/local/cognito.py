"""Cognito on the local stack: finding the pool from another process, the resource
server machine clients are scoped to, and the issuer/JWKS pair the API verifies with.

moto serves the pool's JWKS at ``{endpoint}/{pool}/.well-known/jwks.json`` while its
tokens name the real-looking issuer ``https://cognito-idp.<region>.amazonaws.com/<pool>``,
so the two are configured separately (reference notes, section 4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

import boto3
from botocore.exceptions import ClientError

from psa_billing_dev.local.template import LOCAL_REGION, LOCAL_STACK_NAME

RESOURCE_SERVER: Final = "psa-billing"
READ_SCOPE_NAME: Final = "billing.read"
READ_SCOPE: Final = f"{RESOURCE_SERVER}/{READ_SCOPE_NAME}"
POOL_NAME: Final = f"{LOCAL_STACK_NAME}-users"
CLIENT_NAME: Final = f"{LOCAL_STACK_NAME}-api"


@dataclass(frozen=True)
class PoolRef:
    user_pool_id: str
    client_id: str
    region: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def jwks_url(self, endpoint: str) -> str:
        return f"{endpoint}/{self.user_pool_id}/.well-known/jwks.json"


def idp_client(endpoint: str | None = None) -> Any:
    return boto3.client("cognito-idp", endpoint_url=endpoint, region_name=_region())


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", LOCAL_REGION)


def find_pool(idp: Any) -> PoolRef:
    """The deployment's pool and API client: USER_POOL_ID / USER_POOL_CLIENT_ID when set
    (the stack outputs, on AWS), else the local stack's, found by name."""
    pool_id = os.environ.get("USER_POOL_ID", "")
    client_id = os.environ.get("USER_POOL_CLIENT_ID", "")
    if pool_id and client_id:
        return PoolRef(pool_id, client_id, _region())
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    match = [p["Id"] for p in pools if p["Name"] == POOL_NAME]
    if not match:
        raise LookupError(f"no user pool {POOL_NAME!r}: is the local stack up?")
    clients = idp.list_user_pool_clients(UserPoolId=match[0], MaxResults=60)["UserPoolClients"]
    ids = [c["ClientId"] for c in clients if c["ClientName"] == CLIENT_NAME]
    if not ids:
        raise LookupError(f"no app client {CLIENT_NAME!r} in pool {match[0]}")
    return PoolRef(match[0], ids[0], _region())


def ensure_resource_server(idp: Any, pool: PoolRef) -> None:
    """The read scope machine clients are granted (template: UserPoolResourceServer)."""
    try:
        idp.describe_resource_server(UserPoolId=pool.user_pool_id, Identifier=RESOURCE_SERVER)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    idp.create_resource_server(
        UserPoolId=pool.user_pool_id,
        Identifier=RESOURCE_SERVER,
        Name="psa-billing API",
        Scopes=[{"ScopeName": READ_SCOPE_NAME, "ScopeDescription": "Read billing data"}],
    )


def local_totp_secret() -> str:
    """moto gives every user the same TOTP secret (a constant in moto's Cognito)."""
    from moto.cognitoidp.models import COGNITO_TOTP_MFA_SECRET  # noqa: PLC0415

    return str(COGNITO_TOTP_MFA_SECRET)
