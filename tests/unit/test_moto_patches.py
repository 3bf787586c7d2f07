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


def test_item_responses_written_directly_equal_what_moto_serialises() -> None:
    """Patch 6 changes how a response is written, never what: for every item response,
    and items holding every attribute type, the body equals moto's own serializer's."""
    import json

    from moto.core.model import ServiceModel
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import dynamo_to_dict
    from moto.dynamodb.responses import DynamoHandler

    original = moto_patches._originals.get("responses", ActionResult.execute_result)
    service: ServiceModel = get_service_model("dynamodb")
    stored = {
        "pk": {"S": "ORG#a"},
        "sk": {"S": '\u00e9\u4e2d\U0001f600 "quoted"\n'},
        "n": {"N": "12.50"},
        "blob": {"B": "AAEC/w=="},  # moto keeps binary base64; dynamo_to_dict decodes it
        "blobs": {"BS": ["AA==", "AQI="]},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "names": {"SS": ["a", "b"]},
        "nums": {"NS": ["1", "2.5"]},
        "list": {"L": [{"S": "x"}, {"M": {"k": {"N": "1"}}}]},
    }
    item = {name: DynamoType(value) for name, value in stored.items()}  # as moto holds it
    key = {"pk": item["pk"], "sk": item["sk"]}
    results = {
        "Query": {"Items": [item, item], "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": key},
        "Scan": {"Items": [item], "Count": 1, "ScannedCount": 1},
        "GetItem": {"Item": item},
        "BatchGetItem": {"Responses": {"t": [item]}, "UnprocessedKeys": {}},
        "DescribeTable": {"Table": {"TableName": "t", "ItemCount": 3}},  # not an item response
    }
    for name, raw in results.items():
        operation = service.operation_model(name)
        context = ActionContext(
            service, operation, get_serializer_class("dynamodb", "json"), DynamoHandler()
        )
        result = dynamo_to_dict(raw)
        slow = original(ActionResult(result), context)
        fast = moto_patches.fast_item_response(original, result, context)
        assert fast[0] == slow[0] and fast[1] == slow[1], name
        assert json.loads(fast[2]) == json.loads(slow[2]), name


def test_gsi_candidates_sorted_on_strings_come_out_in_moto_s_order() -> None:
    """Patch 7 changes how a GSI Query's candidates are sorted, never the order: the
    same as moto's own sort on DynamoType keys, ties kept stable; and a key that is
    not a string is left to moto."""
    import random

    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import Table

    table = Table(
        "t",
        account_id="123456789012",
        region="us-east-1",
        schema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        attr=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g1", "g2")],
    )
    chooser = random.Random(5)
    words = ["A#", "B", "b", "\u00e9", "\u4e2d", "TE#2026-10-01", "TE#2026-10-01#e1", ""]

    def item(n: int, **extra: dict[str, str]) -> Item:
        attrs = {
            "pk": {"S": f"P{chooser.choice(words)}"},
            "sk": {"S": "S"},
            "g1": {"S": "G"},
            "g2": {"S": chooser.choice(words) + chooser.choice(words)},
            "n": {"N": str(n)},
            **extra,
        }
        return Item(DynamoType({"S": "x"}), DynamoType({"S": "y"}), attrs)

    items = [item(n) for n in range(300)]
    hash_attrs, range_attrs = ["g1", "pk"], ["g2", "sk"]
    attrs = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
    expected = sorted(items, key=lambda x: tuple(x.attrs[a] for a in attrs))
    fast = list(items)
    assert moto_patches.sorted_on_strings(table, hash_attrs, range_attrs, fast)
    assert [id(i) for i in fast] == [id(i) for i in expected]

    numeric = [*items, item(0, g2={"N": "5"})]
    untouched = list(numeric)
    assert not moto_patches.sorted_on_strings(table, hash_attrs, range_attrs, numeric)
    assert numeric == untouched
