"""Route groups (api/groups.py): a request builds the group its path belongs to, and
nothing else; every route of a group is reachable through that group's prefixes."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from psa_billing.api import errors, groups
from psa_billing.api.app import ROUTE_GROUPS, create_app
from psa_billing.api.groups import RouteGroup, RouteGroups


def _paths(app: FastAPI) -> set[str]:
    found: set[str] = set()
    for route in app.routes:
        original = getattr(route, "original_router", None)  # an included router
        for r in original.routes if original is not None else [route]:
            if isinstance(r, APIRoute):
                found.add(r.path)
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_of_a_group_is_under_that_groups_prefixes_and_no_other() -> None:
    shell = _paths(create_app())
    for group in ROUTE_GROUPS:
        app = create_app()
        routes: RouteGroups = app.state.route_groups
        routes.build(group)
        declared = _paths(app) - shell
        assert declared, f"group {group.name} declares no route"
        for path in declared:
            owner = routes.group_for(_concrete(path))
            assert owner is group, f"{path} (group {group.name}) is routed to {owner}"


def test_shell_routes_belong_to_no_group() -> None:
    routes: RouteGroups = create_app().state.route_groups
    for path in ("/api/health", "/api/openapi.json", "/api/docs", "/static/portal.css"):
        assert routes.group_for(path) is None, path


def test_a_request_builds_only_the_group_of_its_path() -> None:
    app = create_app()
    routes: RouteGroups = app.state.route_groups
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/api/health").json() == {"status": "ok"}
    assert routes.built == frozenset()
    answer = client.get("/api/billing/runs")  # no token
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert routes.built == {"runs"}


def test_an_unknown_api_path_is_a_404_in_the_one_error_shape_and_builds_nothing() -> None:
    app = create_app()
    answer = TestClient(app).get("/api/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert app.state.route_groups.built == frozenset()


def test_the_openapi_document_lists_every_route_of_every_group() -> None:
    everything = create_app()
    everything.state.route_groups.build_all()
    api_paths = {p for p in _paths(everything) if p.startswith("/api/")} - {"/api/health"}
    app = create_app()
    document = TestClient(app).get("/api/openapi.json").json()
    assert api_paths <= set(document["paths"])
    assert app.state.route_groups.built == {g.name for g in ROUTE_GROUPS}


def test_a_group_that_fails_to_build_answers_the_one_500_shape_and_is_tried_again() -> None:
    app = FastAPI()
    routes = groups.install(app, [RouteGroup("broken", ("/api/broken/",), "no_such_module:x")])
    errors.install(app)
    client = TestClient(app, raise_server_exceptions=False)
    for _ in range(2):
        answer = client.get("/api/broken/thing")
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "internal_error"
        assert "no_such_module" not in answer.text
    assert routes.built == frozenset()
