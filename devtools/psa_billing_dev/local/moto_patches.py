"""Every change the local stack makes to moto's internals, in one place.

Written against moto 5.2.5 (``MOTO_VERSION``). Each patch replaces one moto function
with a wrapper, is installed once per process under a lock, and is thread-safe: the
local server answers requests on many threads at once. ``check_internals()`` is the
canary (tests/unit/test_moto_patches.py): it fails loudly, naming what moved, when a
moto upgrade changes a function these patches rely on, instead of letting a patch
silently stop working.

1. **Lambda without Docker** (``LambdaSimpleBackend.invoke``): moto's Docker-less
   backend only echoes the payload; here it runs the real handler in process
   (``psa_billing_dev.local.hook``).
2. **Atomic conditional writes** (``DynamoDBBackend`` writes): DynamoDB checks a
   write's condition and applies it as one step per item, and a transaction as one
   step for all its items; moto does not, so two threads could both pass
   ``attribute_not_exists``. The billed-once and sent-once guarantees rest on that
   atomicity, so writes here run under one lock.
3. **Cheap transactions** (``copy`` inside moto's DynamoDB models): moto backs up a
   transaction by deep-copying every table it touches, a cost that grows with the
   table; here a transaction backs up only the items it names.
4. **Queries that do not scan the table** (``Table.query``/``all_items``): moto
   answers a Query by sorting every item of the table, then filtering, so a Query's
   cost grows with the table. While a Query runs, ``all_items`` returns only
   candidates, unsorted (moto filters and sorts them again, so results are
   identical): for a base-table Query the items under the queried partition; for a
   GSI Query the items with the queried index hash value, from a map per table that
   is rebuilt only after a write. Candidates are listed under the write lock, so a
   concurrent write cannot change the table while they are read.
5. **One client per service in the Step Functions engine**
   (``boto_client_for``): the engine built a new boto3 client for every Lambda
   invoke (~10 ms of CPU each); here clients are cached per (region, service), as a
   warm Lambda would keep one.
6. **Item responses written as JSON directly** (``DynamoResult.execute_result``):
   moto serialises a response by walking botocore's shape for every attribute of every
   item (about 140 calls per item, ~40 ms per item on a loaded machine), so a Query
   returning a big customer's 200,000 entries took hours. The items of Query, Scan,
   GetItem and BatchGetItem responses are already DynamoDB JSON (attribute values as
   ``{type: value}``), so here they are dumped with ``json`` (binary values base64, as
   the serializer writes them); the rest of the response still goes through moto's
   serializer. tests/unit/test_moto_patches.py checks both give the same body.
7. **GSI Queries sorted on plain strings** (``Table.sorted_items``): moto sorts a GSI
   Query's candidates on tuples of ``DynamoType``, each comparison going through
   ``cast_value``, and does so again for every page, so paging through a customer's
   200,000 entries sorted 200,000 items 60 times at ~3 µs a comparison. When every
   key attribute of the candidates is a string (all of this table's keys are), the
   same order comes from the plain strings; anything else is left to moto.
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import inspect
import json
import threading
from collections.abc import Callable
from typing import Any, Final

import moto

MOTO_VERSION: Final = "5.2.5"

_WRITE_LOCK: Final = threading.RLock()
_INSTALL_LOCK: Final = threading.Lock()
_WRITES: Final = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
)
_installed: set[str] = set()
_originals: dict[str, Any] = {}


class MotoInternalsChangedError(RuntimeError):
    """moto no longer has the shape these patches were written against."""


def _expect(owner: Any, name: str, params: tuple[str, ...]) -> Callable[..., Any]:
    fn = getattr(owner, name, None)
    if fn is None or not callable(fn):
        raise MotoInternalsChangedError(
            f"{owner.__name__}.{name} is gone (moto {moto.__version__})"
        )
    found = tuple(inspect.signature(fn).parameters)
    if found[: len(params)] != params:
        raise MotoInternalsChangedError(
            f"{owner.__name__}.{name}{found} no longer starts with {params} "
            f"(written against moto {MOTO_VERSION}, found {moto.__version__})"
        )
    return fn  # type: ignore[no-any-return]


def check_internals() -> None:
    """The canary: every moto function patched here exists with the parameters the
    patches call it with. Raises MotoInternalsChangedError naming what moved."""
    import moto.dynamodb.models as ddb_models  # noqa: PLC0415
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    if moto.__version__ != MOTO_VERSION:
        raise MotoInternalsChangedError(
            f"the local stack's moto patches were written against moto {MOTO_VERSION}, "
            f"this is {moto.__version__}: re-check devtools/psa_billing_dev/local/moto_patches.py"
        )
    _expect(
        LambdaSimpleBackend,
        "invoke",
        ("self", "function_name", "qualifier", "body", "headers", "response_headers"),
    )
    _expect(DynamoDBBackend, "transact_write_items", ("self", "transact_items"))
    for name in _WRITES:
        _expect(DynamoDBBackend, name, ("self",))
    if getattr(ddb_models, "copy", None) is not copy and not _installed:
        raise MotoInternalsChangedError("moto.dynamodb.models no longer imports copy")
    _expect(Table, "query", ("self", "hash_key", "range_comparison", "range_objs"))
    from moto.dynamodb.responses import DynamoResult  # noqa: PLC0415

    if "responses" not in _installed:
        _expect(DynamoResult, "execute_result", ("self", "context"))
    _expect(Table, "all_items", ("self",))
    if "sort" not in _installed:
        _expect(Table, "sorted_items", ("self", "hash_key_attrs", "range_key_attrs", "items"))
        _expect(Table, "_generate_attr_to_sort_by", ("self", "hash_key_attrs", "range_key_attrs"))
    if "clients" not in _installed:
        client_for = getattr(boto_client, "boto_client_for", None)
        if client_for is None:
            raise MotoInternalsChangedError("moto's Step Functions engine has no boto_client_for")
        params = tuple(inspect.signature(client_for).parameters)
        if params[:3] != ("region", "service", "state_credentials"):
            raise MotoInternalsChangedError(f"boto_client_for{params} changed")
        (fn_def,) = ast.parse(inspect.getsource(client_for)).body
        used = {n.id for stmt in fn_def.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}  # type: ignore[attr-defined]
        if "state_credentials" in used:
            raise MotoInternalsChangedError(
                "boto_client_for now uses state_credentials: its clients may differ per call"
            )
        _engine_client_users()


def install_all(lambda_invoke: Callable[..., Any]) -> None:
    """Install every patch (idempotent). ``lambda_invoke`` replaces moto's echoing
    Lambda backend (psa_billing_dev.local.hook)."""
    check_internals()
    with _INSTALL_LOCK:
        _install_lambda(lambda_invoke)
        _install_atomic_writes()
        _install_fast_query()
        _install_engine_clients()
        _install_fast_item_responses()
        _install_fast_sort()


def uninstall_lambda() -> None:
    """Put moto's echoing Lambda backend back (the stack's stop() does)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    with _INSTALL_LOCK:
        if "lambda" in _installed:
            LambdaSimpleBackend.invoke = _originals["lambda"]  # type: ignore[method-assign]
            _installed.discard("lambda")


def lambda_installed() -> bool:
    return "lambda" in _installed


def _install_lambda(invoke: Callable[..., Any]) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    if "lambda" in _installed:
        return
    _originals["lambda"] = LambdaSimpleBackend.invoke
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    _installed.add("lambda")


class _NoTableCopy:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a table is
    not deep-copied (``transact_write_items`` below backs up the items it touches)."""

    def __init__(self, real: Any, table_type: type) -> None:
        self._real = real
        self._table_type = table_type

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if isinstance(value, self._table_type):
            return value
        return self._real.deepcopy(value, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """(table, hash key, range key) of every item a transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    out = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        attrs = op.get("Item") or op.get("Key") or {}
        hash_value = attrs.get(table.hash_key_attr)
        if hash_value is None:
            continue
        range_value = attrs.get(table.range_key_attr) if table.range_key_attr else None
        out.append(
            (
                table,
                DynamoType(hash_value),
                None if range_value is None else DynamoType(range_value),
            )
        )
    return out


def _install_atomic_writes() -> None:
    if "atomic" in _installed:
        return
    import moto.dynamodb.models as ddb_models  # noqa: PLC0415
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    ddb_models.copy = _NoTableCopy(copy, Table)  # type: ignore[attr-defined,assignment]
    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for table, hash_key, range_key in _touched(self, transact_items):
            current = table.items.get(hash_key)
            if range_key is not None:
                current = current.get(range_key) if current else None
            backups.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            original_transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    DynamoDBBackend.transact_write_items = functools.wraps(original_transact)(  # type: ignore[method-assign]
        transact_write_items
    )
    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                _write_version[0] += 1  # before: a failed write may still have changed items
                try:
                    return __original(*args, **kwargs)
                finally:
                    _write_version[0] += 1

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _installed.add("atomic")


_query_state = threading.local()
# Bumped by every write (under _WRITE_LOCK): a GSI map built at another version is stale.
_write_version = [0]
# table -> (version, index hash attribute -> {hash value -> [items]})
_gsi_maps: dict[int, tuple[int, dict[str, dict[Any, list[Any]]]]] = {}


def _gsi_candidates(table: Any, attr: str, value: Any) -> list[Any]:
    """The items whose index hash attribute ``attr`` equals ``value``, from a map that
    is rebuilt only after a write changed the table (called under _WRITE_LOCK)."""
    version = _write_version[0]
    cached = _gsi_maps.get(id(table))
    if cached is None or cached[0] != version:
        cached = (version, {})
        _gsi_maps[id(table)] = cached
    by_attr = cached[1]
    by_value = by_attr.get(attr)
    if by_value is None:
        by_value = {}
        for item in _table_items(table):
            found = item.attrs.get(attr)
            if found is not None:
                by_value.setdefault(_hashable(found), []).append(item)
        by_attr[attr] = by_value
    return list(by_value.get(_hashable(value), ()))


def _hashable(dynamo_value: Any) -> Any:
    # Index keys are S, N or B: their (type, value) pair identifies them exactly.
    return (dynamo_value.type, dynamo_value.value)


def _table_items(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for by_range in table.items.values() for item in by_range.values()]
    return list(table.items.values())


def _install_fast_query() -> None:
    if "query" in _installed:
        return
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    original_query = Table.query
    original_all_items = Table.all_items

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = (
            kwargs.get("index_name")
            if "index_name" in kwargs
            else (args[6] if len(args) > 6 else None)
        )
        conditions = kwargs.get("hash_key_conditions") or []
        if index_name is None:
            _query_state.query = (self, ("base", hash_key))
        elif len(conditions) == 1:
            attr, value = conditions[0]
            _query_state.query = (self, ("gsi", attr, value))
        else:
            _query_state.query = (self, ("all",))
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_state.query = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> Any:
        current = getattr(_query_state, "query", None)
        # Listed under the write lock: no write changes the dicts while they are read.
        with _WRITE_LOCK:
            if current is None or current[0] is not self:
                return original_all_items(self)
            what = current[1]
            if what[0] == "base" and self.range_key_attr:
                return list(self.items.get(what[1], {}).values())
            if what[0] == "gsi":
                return _gsi_candidates(self, what[1], what[2])
            return _table_items(self)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    _installed.add("query")


# The engine's modules that call boto_client_for for what our definition uses: Lambda
# tasks and the Distributed Map's S3 ItemReader. Each imported the name directly.
_ENGINE_CLIENT_USERS: Final = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
)


def _engine_client_users() -> list[Any]:
    import importlib  # noqa: PLC0415

    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    modules = [importlib.import_module(name) for name in _ENGINE_CLIENT_USERS]
    for module in modules:
        if getattr(module, "boto_client_for", None) is not boto_client.boto_client_for:
            raise MotoInternalsChangedError(
                f"{module.__name__} no longer imports boto_client_for from {boto_client.__name__}"
            )
    return modules


def _install_engine_clients() -> None:
    if "clients" in _installed:
        return
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    users = _engine_client_users()
    original = boto_client.boto_client_for
    cache: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's own version ignores state_credentials (fixed dummy keys; the canary
        # checks it still does), so one client per (region, service) is the same client.
        key = (region, service)
        with lock:
            client = cache.get(key)
            if client is None:
                client = cache[key] = original(region, service)
        return client  # botocore clients are thread-safe

    boto_client.boto_client_for = boto_client_for
    for module in users:
        module.boto_client_for = boto_client_for
    _installed.add("clients")


# The response member that holds items, per operation whose items skip the serializer.
_ITEM_MEMBERS: Final = {
    "Query": "Items",
    "Scan": "Items",
    "GetItem": "Item",
    "BatchGetItem": "Responses",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not DynamoDB JSON")


def fast_item_response(
    original: Callable[..., Any], result: Any, context: Any
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of an item response: the items dumped as JSON, the rest
    serialised by moto (``original`` is moto's ``execute_result``)."""
    from moto.core.responses import ActionResult  # noqa: PLC0415

    member = _ITEM_MEMBERS.get(context.operation_model.name)
    if member is None or not isinstance(result, dict) or member not in result:
        return original(ActionResult(result), context)  # type: ignore[no-any-return]
    envelope = {k: v for k, v in result.items() if k != member}
    status, headers, body = original(ActionResult(envelope), context)
    doc = json.loads(body) if body else {}
    doc[member] = result[member]
    return status, headers, json.dumps(doc, default=_json_default, separators=(",", ":"))


def _install_fast_item_responses() -> None:
    if "responses" in _installed:
        return
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.dynamodb.responses import DynamoResult  # noqa: PLC0415

    original = ActionResult.execute_result

    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        return fast_item_response(original, self.result, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    _originals["responses"] = original
    _installed.add("responses")


def sorted_on_strings(table: Any, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> bool:
    """Sort ``items`` in place as moto's ``sorted_items`` would, on the plain string
    values; False (items untouched) when a key attribute is not a string."""
    attrs = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
    keyed = []
    for item in items:
        values = []
        for attr in attrs:
            value = item.attrs.get(attr)
            if value is None or value.type != "S":
                return False
            values.append(value.value)
        keyed.append((tuple(values), item))
    keyed.sort(key=lambda pair: pair[0])
    items[:] = [item for _, item in keyed]
    return True


def _install_fast_sort() -> None:
    if "sort" in _installed:
        return
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    original = Table.sorted_items

    @functools.wraps(original)
    def sorted_items(self: Any, hash_key_attrs: Any, range_key_attrs: Any, items: Any) -> Any:
        if sorted_on_strings(self, hash_key_attrs, range_key_attrs, items):
            return items
        return original(self, hash_key_attrs, range_key_attrs, items)

    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    _originals["sort"] = original
    _installed.add("sort")
