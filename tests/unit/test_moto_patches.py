"""The canary for the local stack's moto patches: a moto upgrade that moves what they
patch fails here, loudly, instead of silently switching a patch off."""

from __future__ import annotations

import threading

import pytest

from psa_billing_dev.local import moto_patches


def test_moto_still_has_what_the_local_patches_patch() -> None:
    moto_patches.check_internals()


def test_the_canary_names_what_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    monkeypatch.delattr(DynamoDBBackend, "transact_write_items")
    with pytest.raises(moto_patches.MotoInternalsChangedError, match="transact_write_items"):
        moto_patches.check_internals()


def test_the_canary_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(moto_patches.MotoInternalsChangedError, match=r"5\.2\.5.*9\.9\.9"):
        moto_patches.check_internals()


def test_the_write_lock_is_reentrant_so_a_patched_write_may_call_another() -> None:
    lock = moto_patches._WRITE_LOCK
    done = threading.Event()

    def nested() -> None:
        with lock, lock:
            done.set()

    t = threading.Thread(target=nested)
    t.start()
    t.join(2)
    assert done.is_set()


def test_the_canary_notices_attribute_values_written_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = moto_patches._serialize_av

    def off_by_one(serializer: object, value: dict[str, object]) -> dict[str, object]:
        out = original(serializer, value)
        if "N" in out:
            out["N"] = f"{out['N']}0"
        return out

    monkeypatch.setattr(moto_patches, "_serialize_av", off_by_one)
    with pytest.raises(moto_patches.MotoInternalsChangedError, match="attribute values"):
        moto_patches.check_internals()


def test_the_canary_notices_the_engine_parsing_jsonpath_another_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    monkeypatch.setattr(json_path, "parse", lambda path: path)
    with pytest.raises(moto_patches.MotoInternalsChangedError, match="JSONPath"):
        moto_patches.check_internals()


def test_attribute_values_of_a_real_response_are_written_as_moto_writes_them() -> None:
    """Every type, nested, through a real Query response of the patched serialiser."""
    import boto3
    from moto import mock_aws

    from psa_billing_dev.local import hook

    moto_patches.install_all(hook.invoke)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        item = {
            "pk": {"S": "a"},
            "n": {"N": "1.50"},
            "b": {"B": b"\x00\x1f\x8b"},
            "ss": {"SS": ["x", "y"]},
            "bs": {"BS": [b"1"]},
            "m": {"M": {"l": {"L": [{"S": "é"}, {"NULL": True}, {"BOOL": False}]}}},
        }
        ddb.put_item(TableName="t", Item=item)
        got = ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )["Items"]
    assert got == [item]


def test_gsi_queries_see_every_write_as_a_scan_does() -> None:
    """The GSI map is re-filed from the keys each write names: after puts, updates that
    move an item to another index value, deletes, a transaction and a failed
    conditional write, every index value's Query equals a filtered Scan."""
    import random

    import boto3
    from moto import mock_aws

    from psa_billing_dev.local import hook

    moto_patches.install_all(hook.invoke)
    rng = random.Random(7)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="g",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "GSI",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        values = [f"v{k}" for k in range(4)]

        def key(k: int) -> dict[str, dict[str, str]]:
            return {"pk": {"S": f"p{k % 3}"}, "sk": {"S": f"s{k}"}}

        def check() -> None:
            for v in values:
                queried = ddb.query(
                    TableName="g",
                    IndexName="GSI",
                    KeyConditionExpression="g = :v",
                    ExpressionAttributeValues={":v": {"S": v}},
                )["Items"]
                scanned = ddb.scan(
                    TableName="g",
                    FilterExpression="g = :v",
                    ExpressionAttributeValues={":v": {"S": v}},
                )["Items"]
                assert sorted(i["sk"]["S"] for i in queried) == sorted(
                    i["sk"]["S"] for i in scanned
                )

        for k in range(20):
            ddb.put_item(TableName="g", Item={**key(k), "g": {"S": rng.choice(values)}})
        check()
        for _ in range(60):
            k = rng.randrange(25)
            action = rng.randrange(5)
            if action == 0:
                ddb.put_item(TableName="g", Item={**key(k), "g": {"S": rng.choice(values)}})
            elif action == 1:
                ddb.update_item(
                    TableName="g",
                    Key=key(k),
                    UpdateExpression="SET g = :v",
                    ExpressionAttributeValues={":v": {"S": rng.choice(values)}},
                )
            elif action == 2:
                ddb.delete_item(TableName="g", Key=key(k))
            elif action == 3:
                ddb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "g", "Item": {**key(k), "g": {"S": "v0"}}}},
                        {"Delete": {"TableName": "g", "Key": key(k + 1)}},
                        {
                            "Update": {
                                "TableName": "g",
                                "Key": key(k + 2),
                                "UpdateExpression": "REMOVE g",
                            }
                        },
                    ]
                )
            else:
                with pytest.raises(ddb.exceptions.TransactionCanceledException):
                    ddb.transact_write_items(
                        TransactItems=[
                            {"Put": {"TableName": "g", "Item": {**key(k), "g": {"S": "v3"}}}},
                            {
                                "Put": {
                                    "TableName": "g",
                                    "Item": {**key(k + 3), "g": {"S": "v3"}},
                                    "ConditionExpression": "attribute_not_exists(pk) AND "
                                    "attribute_exists(pk)",
                                }
                            },
                        ]
                    )
            check()
