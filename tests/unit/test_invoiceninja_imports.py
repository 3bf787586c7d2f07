"""The router ships in the Lambda layer: importing it loads no development tool, no PDF or
email code, and not even httpx until InvoiceNinja is first called."""

from __future__ import annotations

import json
import subprocess
import sys

DEV_ONLY = ("click", "moto", "uvicorn", "psa_billing_dev", "psa_billing.render", "fpdf")
# httpx waits for the first InvoiceNinja call (it also pulls in click where click exists).
LATER = ("httpx", "psa_billing.invoiceninja.client")


def test_the_router_imports_no_development_tool_or_rendering_code() -> None:
    code = (
        "import sys, json, psa_billing.invoiceninja.routes; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[0] in DEV_ONLY or m.startswith(DEV_ONLY)] == []
    assert [m for m in loaded if m.split(".")[0] in LATER or m in LATER] == []
