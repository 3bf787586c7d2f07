"""The API function's IAM policy grants what its routes use and nothing else."""

from __future__ import annotations

from typing import Any

from psa_billing_dev.local.template import function_properties, load_template

# Each action, and the route that needs it.
EXPECTED = {
    # memberships, statements, runs, customers, orgs, lockout counters: by key
    "dynamodb:GetItem",
    "dynamodb:Query",
    # adjustments, settings and their history, memberships' sign-out, run index, counters
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    # Idempotency-Key records (Powertools deletes the record of a request that failed)
    "dynamodb:DeleteItem",
    # presigned PDF links (and HeadObject, which S3 authorises as GetObject)
    "s3:GetObject",
    # POST /api/billing/runs and following a run
    "states:StartExecution",
    "states:DescribeExecution",
    # send, resend, the PDF of a new revision
    "lambda:InvokeFunction",
    # sign-in, refresh, sign-out
    "cognito-idp:InitiateAuth",
    "cognito-idp:RespondToAuthChallenge",
    "cognito-idp:GlobalSignOut",
    # the list-cursor key
    "secretsmanager:GetSecretValue",
    # the InvoiceNinja token (an SSM SecureString, through Powertools Parameters)
    "ssm:GetParameter",
}


def _statements() -> list[dict[str, Any]]:
    policies = function_properties(load_template(), "ApiFunction")["Policies"]
    assert all(set(p) == {"Statement"} for p in policies), "explicit statements only"
    return [s for p in policies for s in p["Statement"]]


def test_the_api_is_granted_exactly_the_actions_its_routes_use() -> None:
    granted = {a for s in _statements() for a in s["Action"]}
    assert granted == EXPECTED


def test_no_scan_no_wildcard_and_deletes_only_on_idempotency_and_push_lock_items() -> None:
    for s in _statements():
        assert s["Effect"] == "Allow"
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert "*" not in resources
        assert not any(a.endswith("Scan") or a.endswith("*") for a in s["Action"])
        if any("Delete" in a for a in s["Action"]):
            if resources == [{"Fn::GetAtt": ["DataTable", "Arn"]}]:
                # Only InvoiceNinja push locks, in the sync's own partitions.
                keys = s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert keys == ["ORG#*#IN#*"]
            else:
                assert resources == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
        for res in resources:
            text = res.get("Fn::Sub", "") if isinstance(res, dict) else str(res)
            if "StatementsBucket.Arn" in text:
                assert text.endswith("/statements/*"), text
