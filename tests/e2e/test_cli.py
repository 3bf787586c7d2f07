"""The psa-billing command as a user runs it: `local up` in one process, the other
commands in others, finding the stack with no extra flags."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "psa_billing.cli.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    for k in ("DATA_TABLE", "STATEMENTS_BUCKET", "STATE_MACHINE_ARN", "SENDER_EMAIL"):
        env.pop(k, None)
    env["PSA_BILLING_LOCAL_PORT"] = str(_free_port())
    out = tmp_path_factory.mktemp("local-out")
    server = subprocess.Popen(
        [*CLI, "local", "up", "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while subprocess.run(
            [*CLI, "local", "status"], env=env, capture_output=True, check=False
        ).returncode:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "local stack did not become ready"
            time.sleep(0.5)
        yield env
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_help_lists_every_command() -> None:
    out = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("import", "demo-data", "run", "statements", "local"):
        assert command in out


def test_status_fails_with_a_one_line_reason_when_no_stack_runs() -> None:
    env = dict(os.environ, PSA_BILLING_LOCAL_PORT=str(_free_port()))
    result = subprocess.run(
        [*CLI, "local", "status"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "psa-billing local up" in result.stderr


def test_import_run_list_and_show_through_the_command_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    doc = tmp_path / "demo.json"
    made = cli(
        cli_env,
        "demo-data",
        "--customers",
        "5",
        "--seed",
        "3",
        "--period",
        "2026-09",
        "--org",
        "cli-msp",
        "--output",
        str(doc),
    )
    assert made.returncode == 0, made.stderr

    imported = cli(cli_env, "import", str(doc))
    assert imported.returncode == 0, imported.stderr
    assert "cli-msp: wrote 5 customers" in imported.stdout

    run = cli(cli_env, "run", "--org", "cli-msp", "--period", "2026-09", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "succeeded"
    assert summary["counts"]["billed"] + summary["counts"]["nothing_to_bill"] == 5

    listed = cli(cli_env, "statements", "list", "--org", "cli-msp", "--period", "2026-09", "--json")
    assert listed.returncode == 0, listed.stderr
    statements = json.loads(listed.stdout)
    assert len(statements) == summary["counts"]["billed"]

    shown = cli(cli_env, "statements", "show", statements[0]["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    st = json.loads(shown.stdout)
    for key in (
        "id",
        "orgId",
        "customerId",
        "customerName",
        "period",
        "currency",
        "status",
        "revision",
        "lines",
        "subtotal",
        "taxPercent",
        "tax",
        "total",
    ):
        assert key in st
    for line in st["lines"]:
        assert set(line) >= {"id", "kind", "description", "quantity", "unitPrice", "amount"}
        assert isinstance(line["amount"], str)

    again = cli(cli_env, "run", "--org", "cli-msp", "--period", "2026-09", "--json")
    assert json.loads(again.stdout)["counts"]["already_billed"] == summary["counts"]["billed"]


def test_bad_input_gets_a_clear_error_and_a_non_zero_exit(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"orgId": "cli-bad", "customers": [{"id": "c1", "name": "X"}]}))

    refused = cli(cli_env, "import", str(bad))
    assert refused.returncode != 0
    assert "customer c1: billing" in refused.stderr
    assert "nothing was written" in refused.stderr.strip().splitlines()[-1]

    unknown = cli(cli_env, "statements", "show", "nope:nope:2026-01")
    assert unknown.returncode != 0
    assert unknown.stderr.strip() == "psa-billing: no statement 'nope:nope:2026-01'"

    bad_period = cli(cli_env, "run", "--org", "cli-msp", "--period", "2026-13")
    assert bad_period.returncode != 0
    assert len(bad_period.stderr.strip().splitlines()) == 1
    assert "2026-13" in bad_period.stderr

    no_org = cli(cli_env, "run", "--org", "no-such-org", "--period", "2026-09")
    assert no_org.returncode != 0
    assert "organisation 'no-such-org' does not exist" in no_org.stderr.strip().splitlines()[-1]
