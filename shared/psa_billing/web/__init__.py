"""The portal's billing pages: server-rendered HTML served by the API's own app.

The pages call the same use cases as the JSON routes (logic/billing_api.py,
logic/settings_api.py, logic/adjusting.py); nothing here holds a billing rule. The
browser holds HttpOnly cookies (web/session.py), every form that changes something
carries a CSRF token (web/csrf.py), and every page goes through web/render.py, which
adds the signed-in person, the navigation of their role and the security headers.
jinja2 is imported on the first render, never when the API function starts.
docs/portal.md describes the pages.
"""

from pathlib import Path

# The portal's CSS and images; the app serves them at /static (api/app.py).
STATIC = Path(__file__).parent / "static"
