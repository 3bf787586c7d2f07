"""One module maps items <-> domain (docs/architecture.md, "one representation per
boundary"): no code but dal/serde.py constructs a pynamodb model instance, not even a
key-only handle for an update, and none writes an item's attributes one by one. Read from
the source (AST), so a new adapter that builds its own items fails here by name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from pynamodb.models import Model

from psa_billing.dal import models

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "shared" / "psa_billing" / "dal" / "serde.py"
DECLARATIONS = ROOT / "shared" / "psa_billing" / "dal" / "models.py"
CODE = ("shared/psa_billing", "devtools/psa_billing_dev", "functions")


def _model_classes() -> set[str]:
    return {
        name
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and issubclass(obj, Model) and obj is not Model
    }


def _attribute_names() -> set[str]:
    names: set[str] = set()
    for name in _model_classes():
        names.update(getattr(models, name).get_attributes())
    return names


def _sources() -> list[Path]:
    found = [p for folder in CODE for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in found if p not in (MAPPING, DECLARATIONS)]


def _constructions(tree: ast.AST, classes: set[str]) -> list[tuple[int, str]]:
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else None
        )
        if name in classes:
            hits.append((node.lineno, f"{name}(...)"))
        elif name in {"from_raw_data", "from_dynamodb_dict", "from_json"}:
            hits.append((node.lineno, f".{name}(...)"))
    return hits


def _attribute_writes(tree: ast.AST, attributes: set[str]) -> list[tuple[int, str]]:
    """``item.<stored attribute> = ...`` (or setattr) outside the mapping module. Only
    on names that hold items (``item``, ``i``, names ending in ``_item``), so a
    dataclass field of the same name elsewhere is not mistaken for one."""

    def holds_item(target: ast.expr) -> bool:
        return isinstance(target, ast.Name) and (
            target.id in {"item", "i", "it"} or target.id.endswith("_item")
        )

    hits = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and t.attr in attributes and holds_item(t.value):
                hits.append((node.lineno, f"{ast.unparse(t)} = ..."))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and node.args
            and holds_item(node.args[0])
        ):
            hits.append((node.lineno, "setattr(item, ...)"))
    return hits


def test_only_the_mapping_module_builds_pynamodb_items() -> None:
    classes = _model_classes()
    assert {"StatementItem", "LeaseItem", "MembershipItem", "InvoiceNinjaPushItem"} <= classes
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _sources()
        for line, what in _constructions(ast.parse(path.read_text()), classes)
    ]
    assert not offenders, "items built outside dal/serde.py:\n" + "\n".join(offenders)


def test_only_the_mapping_module_sets_item_attributes() -> None:
    attributes = _attribute_names()
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _sources()
        for line, what in _attribute_writes(ast.parse(path.read_text()), attributes)
    ]
    assert not offenders, "item attributes set outside dal/serde.py:\n" + "\n".join(offenders)


def test_the_check_finds_an_item_built_elsewhere() -> None:
    """The check itself can fail: a construction and an attribute write are found."""
    tree = ast.parse(
        "from psa_billing.dal import models\n"
        "x = models.LeaseItem(pk='a', sk='b')\n"
        "item = StatementItem(pk='a', sk='b')\n"
        "item.status = 'sent'\n"
    )
    assert [w for _, w in _constructions(tree, _model_classes())] == [
        "LeaseItem(...)",
        "StatementItem(...)",
    ]
    assert [w for _, w in _attribute_writes(tree, _attribute_names())] == ["item.status = ..."]


def test_the_bill_step_asks_dynamodb_for_every_attribute_entry_from_reads() -> None:
    """dal/serde.ENTRY_ATTRIBUTES is the entries Query's projection: an attribute that
    entry_from reads but the projection leaves out would read as missing, silently."""
    from psa_billing.dal import serde

    tree = ast.parse(inspect.getsource(serde.entry_from))
    read = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "item"
    }
    assert read, "entry_from reads the item's attributes"
    assert read <= set(serde.ENTRY_ATTRIBUTES), read - set(serde.ENTRY_ATTRIBUTES)
    assert "kind" in serde.ENTRY_ATTRIBUTES  # the index query picks the class by it


def test_an_entry_read_through_the_projection_is_the_entry_that_was_stored() -> None:
    from datetime import date

    from psa_billing.dal import serde
    from psa_billing.dal.models import TimeEntryItem

    full = TimeEntryItem(
        pk="ORG#o#TE#e1",
        sk="#",
        gsi1pk="ORG#o#CUST#c",
        gsi1sk="TE#2026-10-03#e1",
        org_id="o",
        record_id="e1",
        customer_id="c",
        date=date(2026, 10, 3).isoformat(),
        minutes=95,
        billable=True,
        ticket_id="t-1",
        project_id="p-1",
        description="Replaced the switch",
        user_id="u-7",
    )
    raw = full.serialize()
    projected = {k: v for k, v in raw.items() if k in serde.ENTRY_ATTRIBUTES}
    assert len(projected) < len(raw)
    got = serde.entry_from(TimeEntryItem.from_raw_data(projected))
    assert got == serde.entry_from(TimeEntryItem.from_raw_data(raw))
    assert got.minutes == 95 and got.project_id == "p-1" and got.user_id == "u-7"
