"""The billing HTTP API (FastAPI): create_app() in app.py, wiring in deps.py."""
