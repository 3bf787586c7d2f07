"""``psa-billing users`` and ``psa-billing clients``: who may use the billing API.

Users are Cognito users (email + password + TOTP, MFA enrolled here) with roles per
organisation kept as DynamoDB memberships; machine clients are Cognito app clients
with the client-credentials grant and the read-only scope, bound to one organisation.
Works on the local stack and, with PSA_BILLING_TARGET=aws and USER_POOL_ID /
USER_POOL_CLIENT_ID set from the stack outputs, on AWS.
"""

from __future__ import annotations

import secrets
import string
import sys
import time
from typing import Any

import click
from botocore.exceptions import ClientError

from psa_billing.auth import totp
from psa_billing.auth.roles import Role
from psa_billing_dev.cli import target
from psa_billing_dev.cli.errors import reports_errors

ROLE_CHOICE = click.Choice([r.value for r in Role], case_sensitive=False)


def _fail(message: str) -> None:
    click.echo(f"psa-billing: {message}", err=True)
    sys.exit(1)


def _connect() -> tuple[Any, Any, Any]:
    """(cognito-idp client, pool, access repository) for the current target."""
    from psa_billing import config  # noqa: PLC0415
    from psa_billing.dal.access import AccessRepository  # noqa: PLC0415
    from psa_billing_dev.local.cognito import find_pool, idp_client  # noqa: PLC0415

    endpoint = None
    if not target.targets_aws():
        endpoint = target.use_local_stack()
    config.clear_cache()
    idp = idp_client(endpoint)
    try:
        pool = find_pool(idp)
    except LookupError as exc:
        _fail(str(exc))
        raise
    s = config.storage()
    return idp, pool, AccessRepository(s.data_table, s.aws_default_region)


def generate_password() -> str:
    """16 characters with upper, lower and digits (the pool's policy)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if (
            any(c.isupper() for c in pw)
            and any(c.islower() for c in pw)
            and any(c.isdigit() for c in pw)
        ):
            return pw


def _sub_of(idp: Any, pool_id: str, email: str) -> str | None:
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
            return None
        raise
    attrs = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    return str(attrs.get("sub") or user["Username"])


def create_user_with_mfa(idp: Any, pool: Any, email: str, password: str) -> tuple[str, str]:
    """Create the user with a permanent password and enrol TOTP MFA; (sub, secret)."""
    idp.admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool.user_pool_id, Username=email, Password=password, Permanent=True
    )
    auth = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    access_token = auth["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=access_token)["SecretCode"]
    if totp.seconds_left() <= 2:  # a code about to roll over may be checked against the next
        time.sleep(totp.seconds_left() + 0.1)
    idp.verify_software_token(
        AccessToken=access_token, UserCode=totp.current_code(secret), FriendlyDeviceName="app"
    )
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool.user_pool_id,
        Username=email,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    sub = _sub_of(idp, pool.user_pool_id, email)
    assert sub is not None
    return sub, str(secret)


def add_user(email: str, org_id: str, role: str, password: str | None) -> dict[str, Any]:
    idp, pool, access = _connect()
    email = email.strip().lower()
    sub = _sub_of(idp, pool.user_pool_id, email)
    created: dict[str, Any] = {"email": email, "org": org_id, "role": role, "created": False}
    if sub is None:
        password = password or generate_password()
        sub, secret = create_user_with_mfa(idp, pool, email, password)
        created.update(
            created=True,
            password=password,
            totpSecret=secret,
            otpauth=totp.otpauth_uri(secret, email),
        )
    access.put_membership(sub, email, org_id, Role(role.upper()).value)
    created["sub"] = sub
    return created


@click.group()
def users() -> None:
    """People who sign in to the billing API, and their role in each organisation."""


@users.command("add")
@click.argument("email")
@click.option("--org", "org_id", required=True)
@click.option("--role", required=True, type=ROLE_CHOICE)
@click.option("--password", help="Default: a generated one, printed once.")
@reports_errors
def users_add(email: str, org_id: str, role: str, password: str | None) -> None:
    """Create the user (MFA enrolled) or add the membership to an existing user."""
    out = add_user(email, org_id, role, password)
    click.echo(f"{out['email']} is {out['role'].upper()} in {out['org']}")
    if not out["created"]:
        click.echo("(existing user: password and authenticator are unchanged)")
        return
    click.echo(f"  password:    {out['password']}")
    click.echo(f"  TOTP secret: {out['totpSecret']}")
    click.echo(f"  otpauth URI: {out['otpauth']}")
    click.echo("Add the URI to an authenticator app; sign in with the password and its code")
    if not target.targets_aws():
        click.echo(f"(locally: psa-billing users code {out['email']})")


@users.command("list")
@click.option("--org", "org_id", required=True)
@reports_errors
def users_list(org_id: str) -> None:
    """Members of an organisation and their roles."""
    _, _, access = _connect()
    for m in sorted(access.members_of(org_id), key=lambda m: m.email):
        click.echo(f"{m.email:<40} {m.role:<11} {m.user_sub}")


@users.command("set-role")
@click.argument("email")
@click.option("--org", "org_id", required=True)
@click.option("--role", required=True, type=ROLE_CHOICE)
@reports_errors
def users_set_role(email: str, org_id: str, role: str) -> None:
    idp, pool, access = _connect()
    sub = _sub_of(idp, pool.user_pool_id, email.strip().lower())
    if sub is None or org_id not in access.user_access(sub).roles:
        _fail(f"{email} is not a member of {org_id} (use `users add`)")
        return
    access.put_membership(sub, email.strip().lower(), org_id, role.upper())
    click.echo(f"{email} is now {role.upper()} in {org_id}")


@users.command("remove")
@click.argument("email")
@click.option("--org", "org_id", required=True)
@reports_errors
def users_remove(email: str, org_id: str) -> None:
    """Remove the membership (the Cognito user stays; other memberships too)."""
    idp, pool, access = _connect()
    sub = _sub_of(idp, pool.user_pool_id, email.strip().lower())
    if sub is None or not access.remove_membership(sub, org_id):
        _fail(f"{email} is not a member of {org_id}")
        return
    click.echo(f"{email} removed from {org_id}")


@users.command("code")
@click.argument("email")
@click.option("--secret", help="The TOTP secret (default: the local stack's).")
@reports_errors
def users_code(email: str, secret: str | None) -> None:
    """Print the current 6-digit code (local stack: moto gives every user one secret)."""
    if secret is None:
        if target.targets_aws():
            _fail("on AWS give --secret (the one `users add` printed)")
            return
        from psa_billing_dev.local.cognito import local_totp_secret  # noqa: PLC0415

        idp, pool, _ = _connect()
        if _sub_of(idp, pool.user_pool_id, email.strip().lower()) is None:
            _fail(f"no user {email}")
            return
        secret = local_totp_secret()
    left = totp.seconds_left()
    if left < 3:  # about to roll over: the next code is the one that will still work
        time.sleep(left)
    click.echo(totp.current_code(secret))


# ------------------------------------------------------------------------------ clients


@click.group()
def clients() -> None:
    """Machine clients (accounting tools): read-only, one organisation each."""


@clients.command("add")
@click.option("--org", "org_id", required=True)
@click.option("--name", default="accounting", show_default=True)
@reports_errors
def clients_add(org_id: str, name: str) -> None:
    """Create a client-credentials app client; its secret is printed once."""
    from psa_billing.dal.access import MachineClient  # noqa: PLC0415
    from psa_billing_dev.local.cognito import READ_SCOPE, ensure_resource_server  # noqa: PLC0415

    idp, pool, access = _connect()
    ensure_resource_server(idp, pool)
    client = idp.create_user_pool_client(
        UserPoolId=pool.user_pool_id,
        ClientName=f"machine-{org_id}-{name}"[:128],
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[READ_SCOPE],
        AllowedOAuthFlowsUserPoolClient=True,
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    access.put_machine_client(MachineClient(client["ClientId"], org_id, name, READ_SCOPE))
    click.echo(f"client id:     {client['ClientId']}")
    click.echo(f"client secret: {client['ClientSecret']}  (shown once)")
    click.echo(f"scope:         {READ_SCOPE} (read-only, organisation {org_id})")
    if target.targets_aws():
        click.echo(
            "Add the client id to the stack parameter MachineClientIds and deploy: the HTTP "
            "API's JWT authorizer admits only the client ids it lists."
        )
    else:
        from psa_billing_dev.local.api_server import default_api_port  # noqa: PLC0415

        click.echo(f"token URL:     http://127.0.0.1:{default_api_port()}/local-oauth/oauth2/token")


@clients.command("list")
@click.option("--org", "org_id", required=True)
@reports_errors
def clients_list(org_id: str) -> None:
    _, _, access = _connect()
    for c in access.machine_clients_of(org_id):
        click.echo(f"{c.client_id:<30} {c.name:<20} {c.scope}")


# ------------------------------------------------------------------ `local up` API

DEMO_EMAIL = "admin@demo-msp.example"
# Local demo only: printed by `make run` and used in docs/api.md.
DEMO_PASSWORD = "Demo-Billing-2026"  # noqa: S105


def start_local_api(stack: Any, *, demo: bool) -> Any:
    """Serve the API beside the local stack; with the demo, an OWNER of demo-msp.
    A port already in use ends `local up` with one line, not a traceback or a hang."""
    from psa_billing import config  # noqa: PLC0415
    from psa_billing.dal.access import AccessRepository  # noqa: PLC0415
    from psa_billing_dev.local.api_server import ApiPortInUseError, start_api_server  # noqa: PLC0415
    from psa_billing_dev.local.cognito import PoolRef, idp_client  # noqa: PLC0415

    try:
        api = start_api_server(stack)
    except ApiPortInUseError as exc:
        stack.stop()
        _fail(str(exc))
        raise
    if demo:
        res = stack.resources
        pool = PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)
        sub, _ = create_user_with_mfa(idp_client(stack.endpoint), pool, DEMO_EMAIL, DEMO_PASSWORD)
        s = config.storage()
        AccessRepository(s.data_table, s.aws_default_region).put_membership(
            sub, DEMO_EMAIL, "demo-msp", Role.OWNER.value
        )
    return api


def print_api_help(api: Any, *, demo: bool) -> None:
    """What `local up` (and `make run`) prints about the API, last, beside "Up at"."""
    click.echo(f"Billing API at {api.url} (OpenAPI: {api.url}/api/openapi.json)")
    click.echo(f"Portal (billing pages) at {api.url}/signin")
    if demo:
        click.echo(
            f"  sign in with email {DEMO_EMAIL}, password {DEMO_PASSWORD}, and the 6-digit "
            f"code from: psa-billing users code {DEMO_EMAIL}"
        )
        click.echo(f"Sign in as {DEMO_EMAIL} / {DEMO_PASSWORD} (OWNER of demo-msp), e.g.:")
        click.echo(
            f"  curl -s -X POST {api.url}/api/auth/login -H 'content-type: application/json' "
            f'-d \'{{"email":"{DEMO_EMAIL}","password":"{DEMO_PASSWORD}",'
            f'"mfaCode":"\'$(psa-billing users code {DEMO_EMAIL})\'"}}\''
        )
        click.echo("  (docs/api.md has the whole session)")
