"""One source of truth: the template, the models and the dependency lists agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from psa_billing.dal.models import Item
from psa_billing_dev.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=~!; ]", requirement.strip(), maxsplit=1)[0].lower()


def test_layer_requirements_are_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    layer = [
        line
        for line in (ROOT / "shared" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(map(_name, layer)) == sorted(map(_name, project["dependencies"]))


def test_template_table_has_the_keys_and_indexes_the_models_use() -> None:
    table = load_template()["Resources"]["DataTable"]["Properties"]
    key_schema = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    assert key_schema == {Item.pk.attr_name: "HASH", Item.sk.attr_name: "RANGE"}
    indexes = {
        g["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in g["KeySchema"]}
        for g in table["GlobalSecondaryIndexes"]
    }
    for index in (Item.customer_view, Item.org_statements):
        expected = {
            name: ("HASH" if attr.is_hash_key else "RANGE")
            for name, attr in index.Meta.attributes.items()
        }
        assert indexes[index.Meta.index_name] == expected
    assert {g["Projection"]["ProjectionType"] for g in table["GlobalSecondaryIndexes"]} == {"ALL"}


def _layer_sources() -> list[Path]:
    """What SAM builds into the Lambda layer: everything under shared/ (ContentUri)."""
    return sorted((ROOT / "shared").rglob("*.py"))


def test_layer_ships_no_local_stack_cli_or_demo_code() -> None:
    names = {p.relative_to(ROOT / "shared").as_posix() for p in _layer_sources()}
    assert names, "the layer has no sources?"
    for path in names:
        assert not path.startswith(("psa_billing/local/", "psa_billing/cli/")), path
        assert not path.endswith(("demo.py", "fakes.py", "conftest.py")), path


def test_layer_code_imports_no_development_only_package() -> None:
    banned = re.compile(
        r"^\s*(from|import)\s+(moto|click|yaml|pytest|hypothesis|psa_billing_dev|tests)\b", re.M
    )
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
        for p in _layer_sources()
        for m in banned.finditer(p.read_text())
    ]
    assert offenders == []
