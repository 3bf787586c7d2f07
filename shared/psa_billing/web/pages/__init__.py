"""The page routers. Each module here has a ``router`` (an APIRouter with
``route_class=PageRoute``); ``install`` includes every one of them and serves /static,
so a new page module needs no edit anywhere else."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from psa_billing.web.render import STATIC


def install(app: FastAPI) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
