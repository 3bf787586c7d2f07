"""An import killed at a random point never lets a run bill part of it
(docs/billing-rules.md "Once billed, billed once": a run sees an organisation's data
whole). A real `psa-billing import` process is killed mid-write; a run started right
after is refused (or, if the import had finished, bills it all); importing the same
document again finishes it, and the next run bills every entry exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from psa_billing import runtime
from psa_billing.domain.model import Period
from psa_billing.logic.importing import import_document
from psa_billing_dev.cli.runner import RunFailedError
from psa_billing_dev.demo import demo_document
from tests.support import bill, expected_drafts

pytestmark = [pytest.mark.e2e, pytest.mark.local_stack]

PERIOD = Period(2026, 10)
TRIALS = int(os.environ.get("PSA_BILLING_KILL_TRIALS", "4"))
CLI = [sys.executable, "-m", "psa_billing_dev.cli.main"]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_killed_import_is_never_billed_in_part(
    trial: int, repo: Any, org_id: str, local_stack: Any, tmp_path: Path
) -> None:
    doc = demo_document(40, 100 + trial, PERIOD, org_id=org_id)  # ~1,700 items
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update({"PSA_BILLING_LOCAL_PORT": str(local_stack.port), "IMPORT_LEASE_SECONDS": "3"})

    importer = subprocess.Popen(
        [*CLI, "import", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    time.sleep(random.Random(trial).uniform(2.0, 6.0))
    importer.send_signal(signal.SIGKILL)
    importer.wait(timeout=30)

    state = runtime.leases().import_state(org_id)
    try:
        bill(repo, org_id, PERIOD)  # a run right after the kill
        finished_first = True
    except RunFailedError as exc:
        finished_first = False
        if state is None:  # killed before it wrote anything: there is nothing to bill
            assert "does not exist" in str(exc), str(exc)
        else:  # refused, and says why
            assert "import" in str(exc), str(exc)
    assert finished_first == bool(state and state.complete), "a run billed a partial import"

    # The operator imports the same document again (waiting out the dead one's lease).
    import_document(
        path.read_bytes(), repo, clock=runtime.utc_now, leases=runtime.leases(), lease_seconds=3
    )
    bill(repo, org_id, PERIOD)

    expected = {c: d for c, d in expected_drafts(doc, PERIOD).items() if d is not None}
    statements = {s.customer_id: s for s in repo.list_statements(org_id, str(PERIOD))}
    assert set(statements) == set(expected)
    for customer_id, draft in expected.items():
        stored = repo.get_statement(statements[customer_id].id, with_inputs=True)
        assert stored.total == draft.total, customer_id  # every entry billed, once
        assert stored.inputs == draft.inputs
