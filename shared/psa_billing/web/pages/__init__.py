"""The page routers. Each module here has a ``router`` (an APIRouter with
``route_class=PageRoute``), declared as a route group in api/app.py's ROUTE_GROUPS and
built on its first request (api/groups.py); /static is served by the app itself."""
