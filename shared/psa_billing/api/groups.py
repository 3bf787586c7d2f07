"""Route groups, each built the first time a request needs it (cold start).

FastAPI builds a route's request and response models when the route is declared, and
the routers' modules import what their use cases need (PyJWT and cryptography for the
token, pynamodb and botocore for DynamoDB, the domain models). Declaring every route at
import made a cold function build all of them before answering anything: the pages
for a request from an accounting tool, the InvoiceNinja routes for a statements list.

So ``create_app()`` declares only the shell (errors, health, the OpenAPI routes), and
``RouteGroups`` adds a group's routes to the same app on the first request whose path
is under one of the group's prefixes. The routes, their dependencies, overrides and
error handlers are exactly those of an app that declared everything up front; what
changes is only when a group is built. A cold function therefore builds the groups it
serves; a warm one has built each group once. ``/api/openapi.json`` builds every group
first, so the document always lists every route.

A request under no group's prefix needs no group: it is answered by the shell (the
health check, or a 404). tests/unit/test_route_groups.py proves that every route a
group declares is under that group's prefixes and no other's, so no request can reach
the shell while its route sits in a group not yet built.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class RouteGroup:
    """``installer`` is "module:name": an APIRouter the app includes, or a function that
    takes the app and declares the group's routes on it. A request belongs to the group
    when its path is one of ``paths`` or starts with one of ``prefixes`` (the longest
    matching prefix of all groups wins)."""

    name: str
    prefixes: tuple[str, ...]
    installer: str
    paths: tuple[str, ...] = ()

    def install(self, app: FastAPI) -> None:
        module_name, _, attribute = self.installer.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        if isinstance(target, APIRouter):
            app.include_router(target)
        else:
            target(app)


class RouteGroups:
    def __init__(self, app: FastAPI, groups: Sequence[RouteGroup]) -> None:
        self._app = app
        self.groups = tuple(groups)
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"route group names must be unique: {names}")
        self._by_prefix = sorted(
            ((p, g) for g in self.groups for p in g.prefixes), key=lambda pg: -len(pg[0])
        )
        self._built: set[str] = set()
        self._lock = threading.Lock()

    def group_for(self, path: str) -> RouteGroup | None:
        for group in self.groups:
            if path in group.paths:
                return group
        for prefix, group in self._by_prefix:
            if path.startswith(prefix):
                return group
        return None

    @property
    def built(self) -> frozenset[str]:
        return frozenset(self._built)

    def build(self, group: RouteGroup) -> None:
        if group.name in self._built:
            return
        with self._lock:  # TestClient and uvicorn's threads may race for the first build
            if group.name in self._built:
                return
            group.install(self._app)
            self._built.add(group.name)

    def build_for(self, path: str) -> None:
        group = self.group_for(path)
        if group is not None:
            self.build(group)

    def build_all(self) -> None:
        for group in self.groups:
            self.build(group)


class BuildRouteGroups:
    """ASGI middleware: build the request's route group before the app routes it."""

    def __init__(self, app: ASGIApp, groups: RouteGroups) -> None:
        self.app = app
        self.groups = groups

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.groups.build_for(scope["path"])
        await self.app(scope, receive, send)


def install(app: FastAPI, groups: Sequence[RouteGroup]) -> RouteGroups:
    """Build groups on demand, and every group before the OpenAPI document."""
    route_groups = RouteGroups(app, groups)
    app.state.route_groups = route_groups
    app.add_middleware(BuildRouteGroups, groups=route_groups)
    document: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        route_groups.build_all()
        return document()

    app.openapi = openapi  # type: ignore[method-assign]
    return route_groups
