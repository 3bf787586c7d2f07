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
   each write keeps up to date by re-filing the items it names (a write whose items
   cannot be told, such as PartiQL, drops the maps). Candidates are listed under the
   write lock, so a concurrent write cannot change the table while they are read.
5. **One client per service in the Step Functions engine**
   (``boto_client_for``): the engine built a new boto3 client for every Lambda
   invoke (~10 ms of CPU each); here clients are cached per (region, service), as a
   warm Lambda would keep one.
6. **DynamoDB attribute values serialised directly** (``BaseJSONSerializer.
   _serialize_type_structure``): moto's response serialiser walks every attribute
   value of every item through its generic, alias-guessing attribute picker (about
   30% of a local run's CPU). An ``AttributeValue`` that is the plain dict moto's
   DynamoDB backend produces is written here by a direct walk of the same shape; the
   canary serialises a value of every type both ways and requires the same JSON.
7. **JSONPath parsed once per path** (the engine's ``parse``): moto's Step Functions
   engine parsed every JSONPath of the definition again on each evaluation, and
   jsonpath-ng builds a new parser (its yacc tables) for every parse (about 11% of a
   run's CPU); here a parsed path is kept per path string (they are immutable).
8. **A request router built once per service** (``ServiceOperationRouter._get_router``):
   moto builds a service's werkzeug URL map on its first request; the engine's threads
   arrive together and each built its own. Here one builds it while the others wait.
9. **Item responses written as JSON directly** (``DynamoResult.execute_result``):
   moto serialises a response by walking botocore's shape for every attribute of every
   item (about 140 calls per item, ~40 ms per item on a loaded machine), so a Query
   returning a big customer's 200,000 entries took hours. The items of Query, Scan,
   GetItem and BatchGetItem responses are already DynamoDB JSON (attribute values as
   ``{type: value}``), so here they are dumped with ``json`` (binary values base64, as
   the serializer writes them); the rest of the response still goes through moto's
   serializer. tests/unit/test_moto_patches.py checks both give the same body.
10. **GSI Queries sorted on plain strings** (``Table.sorted_items``): moto sorts a GSI
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
from dataclasses import dataclass, field
from enum import Enum
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
    "execute_statement",  # PartiQL writes tables directly: the GSI maps start again
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
    from moto.core.routing import ServiceOperationRouter  # noqa: PLC0415
    from moto.core.serialize import BaseJSONSerializer  # noqa: PLC0415
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
    for name, param in _KEY_PARAMS.items():
        _expect(DynamoDBBackend, name, ("self", "table_name", param))
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
    _jsonpath_users()
    _expect(
        BaseJSONSerializer,
        "_serialize_type_structure",
        ("self", "serialized", "value", "shape", "key"),
    )
    _expect(ServiceOperationRouter, "_get_router", ("self", "protocol"))
    _check_attribute_values()


def install_all(lambda_invoke: Callable[..., Any]) -> None:
    """Install every patch (idempotent). ``lambda_invoke`` replaces moto's echoing
    Lambda backend (psa_billing_dev.local.hook)."""
    check_internals()
    with _INSTALL_LOCK:
        _install_lambda(lambda_invoke)
        _install_atomic_writes()
        _install_fast_query()
        _install_engine_clients()
        _install_attribute_values()
        _install_jsonpath_cache()
        _install_router_once()
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

        def locked(
            *args: Any, __original: Any = original, __name: str = name, **kwargs: Any
        ) -> Any:
            with _WRITE_LOCK:
                try:
                    return __original(*args, **kwargs)
                finally:  # a failed write may still have changed (or restored) items
                    _note_written(__name, args, kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _installed.add("atomic")


_query_state = threading.local()


@dataclass(eq=False)
class _GsiMap:
    """For one table: index hash attribute -> {hash value -> {item key -> item}}, and
    the values each item is filed under. Kept up to date from the keys each write
    names (``dirty``), so a Query after a write re-files a few items instead of
    reading the whole table again. Used only under _WRITE_LOCK."""

    table: Any
    by_attr: dict[str, dict[Any, dict[Any, Any]]] = field(default_factory=dict)
    filed: dict[Any, dict[str, Any]] = field(default_factory=dict)
    dirty: set[Any] = field(default_factory=set)


_gsi_maps: dict[int, _GsiMap] = {}

# The parameter of each write that names its item's key (after self and table_name).
_KEY_PARAMS: Final = {"put_item": "item_attrs", "update_item": "key", "delete_item": "key"}


def _note_written(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Mark the items a write named as dirty in their table's GSI map; when the write's
    items cannot be told, forget every map (they are rebuilt when next queried)."""
    if not _gsi_maps:
        return
    try:
        backend = args[0]
        if name == "transact_write_items":
            items = args[1] if len(args) > 1 else kwargs["transact_items"]
            touched = [(t, h, r) for t, h, r in _touched(backend, items)]
            if len(touched) != len(items):
                raise LookupError("a transaction item without a key")
        else:
            param = _KEY_PARAMS[name]
            table_name = args[1] if len(args) > 1 else kwargs["table_name"]
            attrs = args[2] if len(args) > 2 else kwargs[param]
            table = backend.tables[table_name]
            touched = [_key_of(table, attrs)]
    except (LookupError, TypeError, AttributeError):
        _gsi_maps.clear()
        return
    for table, hash_key, range_key in touched:
        gsi_map = _gsi_maps.get(id(table))
        if gsi_map is not None:
            gsi_map.dirty.add((hash_key, range_key))


def _key_of(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    range_value = attrs[table.range_key_attr] if table.range_key_attr else None
    return (
        table,
        DynamoType(attrs[table.hash_key_attr]),
        None if range_value is None else DynamoType(range_value),
    )


def _gsi_candidates(table: Any, attr: str, value: Any) -> list[Any]:
    """The items whose index hash attribute ``attr`` equals ``value`` (called under
    _WRITE_LOCK)."""
    gsi_map = _gsi_maps.get(id(table))
    if gsi_map is None or gsi_map.table is not table:
        gsi_map = _gsi_maps[id(table)] = _GsiMap(table)
    if gsi_map.dirty:
        _refile(gsi_map)
    by_value = gsi_map.by_attr.get(attr)
    if by_value is None:
        by_value = gsi_map.by_attr[attr] = {}
        for key, item in _keyed_items(table):
            _file(gsi_map, key, item, attr, by_value)
    return list(by_value.get(_hashable(value), {}).values())


def _file(gsi_map: _GsiMap, key: Any, item: Any, attr: str, by_value: dict[Any, Any]) -> None:
    found = item.attrs.get(attr)
    if found is not None:
        hashed = _hashable(found)
        by_value.setdefault(hashed, {})[key] = item
        gsi_map.filed.setdefault(key, {})[attr] = hashed


def _refile(gsi_map: _GsiMap) -> None:
    """File again the items written since the map was last used."""
    table = gsi_map.table
    for key in gsi_map.dirty:
        for attr, hashed in gsi_map.filed.pop(key, {}).items():
            gsi_map.by_attr[attr].get(hashed, {}).pop(key, None)
        hash_key, range_key = key
        item = table.items.get(hash_key)
        if item is not None and range_key is not None:
            item = item.get(range_key)
        elif range_key is not None:
            item = None
        if item is not None:
            for attr, by_value in gsi_map.by_attr.items():
                _file(gsi_map, key, item, attr, by_value)
    gsi_map.dirty.clear()


def _keyed_items(table: Any) -> list[tuple[Any, Any]]:
    if table.range_key_attr:
        return [
            ((hash_key, range_key), item)
            for hash_key, by_range in table.items.items()
            for range_key, item in by_range.items()
        ]
    return [((hash_key, None), item) for hash_key, item in table.items.items()]


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


# --------------------------------------------------------------- 6. attribute values

# The members of DynamoDB's AttributeValue shape, in the model's order, with the type
# each is serialised as (checked against the service model by the canary).
_AV_MEMBERS: Final = (
    ("S", "string"),
    ("N", "string"),
    ("B", "blob"),
    ("SS", "strings"),
    ("NS", "strings"),
    ("BS", "blobs"),
    ("M", "map"),
    ("L", "list"),
    ("NULL", "boolean"),
    ("BOOL", "boolean"),
)
_AV_NAMES: Final = frozenset(name for name, _ in _AV_MEMBERS)
_AV_SHAPE_TYPES: Final = {
    "string": ("string", None),
    "blob": ("blob", None),
    "strings": ("list", "string"),
    "blobs": ("list", "blob"),
    "map": ("map", "structure"),
    "list": ("list", "structure"),
    "boolean": ("boolean", None),
}


def _plain_attribute_value(value: Any) -> bool:
    """A dict of the backend's shape: type keys only, nested values likewise."""
    if type(value) is not dict or not value.keys() <= _AV_NAMES:
        return False
    nested = value.get("M")
    if nested is not None and (
        type(nested) is not dict
        or not all(v is None or _plain_attribute_value(v) for v in nested.values())
    ):
        return False
    items = value.get("L")
    return items is None or (
        type(items) is list and all(v is None or _plain_attribute_value(v) for v in items)
    )


def _av_string(value: Any) -> Any:
    # What moto's BaseJSONSerializer._serialize_type_string does with a value.
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _serialize_av(serializer: Any, value: dict[str, Any]) -> dict[str, Any]:
    """The JSON moto's generic serialiser writes for a plain AttributeValue dict."""
    out: dict[str, Any] = {}
    for name, kind in _AV_MEMBERS:
        v = value.get(name)
        if v is None:
            continue
        if kind == "string":
            out[name] = _av_string(v)
        elif kind == "blob":
            out[name] = serializer._base64(v)
        elif kind == "strings":
            out[name] = [_av_string(x) for x in v]
        elif kind == "blobs":
            out[name] = [serializer._base64(x) for x in v]
        elif kind == "map":
            out[name] = {k: _serialize_av(serializer, x) for k, x in v.items() if x is not None}
        elif kind == "list":
            out[name] = [None if x is None else _serialize_av(serializer, x) for x in v]
        else:
            out[name] = v
    return out


def _transformers_reach_attribute_values(serializer: Any) -> bool:
    """True when a response transformer could apply inside an attribute value (moto
    matches them by key-path suffix), so the generic walk must run. Decided once per
    serializer, i.e. per response."""
    reach = serializer.__dict__.get("_psa_transformers_reach")
    if reach is None:
        picker = getattr(serializer, "_value_picker", None)
        paths = list(getattr(picker, "response_transformers", None) or ())
        reach = any(p == name or p.endswith("." + name) for p in paths for name in _AV_NAMES)
        serializer.__dict__["_psa_transformers_reach"] = reach
    return bool(reach)


def _check_attribute_values() -> None:
    """The AttributeValue shape is still what ``_serialize_av`` writes, and both ways
    give the same JSON for a value of every type (nested, empty, binary, unicode)."""
    from moto.core.utils import get_service_model  # noqa: PLC0415

    shape: Any = get_service_model("dynamodb").shape_for("AttributeValue")
    found = []
    for name, member in shape.members.items():
        inner = getattr(member, "member", None) or getattr(member, "value", None)
        found.append((name, member.type_name, inner.type_name if inner is not None else None))
    expected = [(name, *_AV_SHAPE_TYPES[kind]) for name, kind in _AV_MEMBERS]
    if found != expected or shape.serialization.get("name"):
        raise MotoInternalsChangedError(
            f"DynamoDB's AttributeValue shape changed: {found} (expected {expected})"
        )
    sample = {
        "pk": {"S": "org#1"},
        "n": {"N": "12.50"},
        "empty": {"S": ""},
        "text": {"S": "Grüße, 東京"},
        "blob": {"B": b"\x1f\x8b gzip"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"y"]},
        "null": {"NULL": True},
        "flag": {"BOOL": False},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"M": {}}, {"N": "0"}]}, "e": {"M": {}}}},
        "l": {"L": []},
    }
    result = {"Items": [sample, {"pk": {"S": "org#2"}}], "Count": 2, "ScannedCount": 2}
    if not _plain_attribute_value(sample["m"]) or not all(
        _plain_attribute_value(v) for v in sample.values()
    ):
        raise MotoInternalsChangedError("the canary's sample is not a plain attribute value")
    generic, direct = _serialize_query_both_ways(result)
    if generic != direct:
        raise MotoInternalsChangedError(
            "moto's DynamoDB serialiser now writes attribute values differently from "
            f"moto_patches._serialize_av:\n{generic}\n{direct}"
        )


def _serialize_query_both_ways(result: dict[str, Any]) -> tuple[str, str]:
    """A Query result as moto's generic serialiser writes it, and with the direct walk
    (whether or not the patch is installed)."""
    from moto.core.serialize import (  # noqa: PLC0415
        BaseJSONSerializer,
        JSONSerializer,
        XFormedAttributePicker,
    )
    from moto.core.utils import get_service_model  # noqa: PLC0415

    class Direct(JSONSerializer):
        _serialize_type_structure = _direct_structure(BaseJSONSerializer._serialize_type_structure)

    op = get_service_model("dynamodb").operation_model("Query")
    _state.generic_only = True
    try:
        generic = JSONSerializer(operation_model=op, value_picker=XFormedAttributePicker())
        generic_body = str(generic.serialize(result)["body"])
    finally:
        _state.generic_only = False
    _state.direct_values = 0
    direct = Direct(operation_model=op, value_picker=XFormedAttributePicker())
    direct_body = str(direct.serialize(result)["body"])
    if _state.direct_values < 2:
        raise MotoInternalsChangedError("the direct attribute-value walk was never taken")
    return generic_body, direct_body


# Per thread: the canary serialises the generic way (and counts the direct walks)
# while a stack may be answering requests on other threads.
_state = threading.local()


def _direct_structure(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and not getattr(_state, "generic_only", False)
            and self.service_model.service_name == "dynamodb"
            and _plain_attribute_value(value)
            and not _transformers_reach_attribute_values(self)
        ):
            serialized[key] = _serialize_av(self, value)
            _state.direct_values = getattr(_state, "direct_values", 0) + 1
            return
        original(self, serialized, value, shape, key)

    return serialize_structure


def _install_attribute_values() -> None:
    if "attribute_values" in _installed:
        return
    from moto.core.serialize import BaseJSONSerializer  # noqa: PLC0415

    BaseJSONSerializer._serialize_type_structure = _direct_structure(  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure
    )
    _installed.add("attribute_values")


# ---------------------------------------------------------------------- 7. JSONPath

# The engine's modules that parse JSONPath, and the jsonpath-ng function each imported.
_JSONPATH_USERS: Final = (
    ("moto.stepfunctions.parser.asl.utils.json_path", "jsonpath_ng.ext"),
    ("moto.stepfunctions.parser.asl.component.common.path.result_path", "jsonpath_ng"),
)


def _jsonpath_users() -> list[tuple[Any, Any]]:
    import importlib  # noqa: PLC0415

    found = []
    for module_name, parser_module in _JSONPATH_USERS:
        module = importlib.import_module(module_name)
        parse = getattr(module, "parse", None)
        real = importlib.import_module(parser_module).parse
        if parse is not real and getattr(parse, "__wrapped__", None) is not real:
            raise MotoInternalsChangedError(
                f"{module_name} no longer uses {parser_module}.parse for JSONPath"
            )
        found.append((module, real))
    return found


def _install_jsonpath_cache() -> None:
    if "jsonpath" in _installed:
        return
    for module, real in _jsonpath_users():
        cached = functools.lru_cache(maxsize=1024)(real)  # thread-safe; paths are few
        module.parse = cached
    _installed.add("jsonpath")


# ------------------------------------------------------------------------ 8. routers


def _install_router_once() -> None:
    if "router" in _installed:
        return
    from moto.core.routing import ServiceOperationRouter  # noqa: PLC0415

    original = ServiceOperationRouter._get_router
    lock = threading.Lock()

    @functools.wraps(original)
    def get_router(self: Any, protocol: str) -> Any:
        routers = self._routers
        router = routers.get(protocol)
        if router is None:
            with lock:
                router = original(self, protocol)
        return router

    ServiceOperationRouter._get_router = get_router  # type: ignore[method-assign]
    _installed.add("router")


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
