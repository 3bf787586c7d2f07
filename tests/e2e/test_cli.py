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
CLI = [sys.executable, "-m", "psa_billing_dev.cli.main"]


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
    env["PSA_BILLING_API_PORT"] = str(_free_port())  # `local up` serves the API too
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


def test_review_adjust_send_and_resend_through_the_command_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    doc = tmp_path / "review.json"
    made = cli(
        cli_env,
        "demo-data",
        "--customers",
        "6",
        "--seed",
        "8",
        "--period",
        "2026-08",
        "--org",
        "cli-review",
        "--output",
        str(doc),
    )
    assert made.returncode == 0, made.stderr
    assert cli(cli_env, "import", str(doc)).returncode == 0
    org = cli(
        cli_env,
        "org",
        "set",
        "cli-review",
        "--name",
        "Review IT Ltd",
        "--address",
        "1 High St",
        "--address",
        "York",
        "--email",
        "ar@review.example",
    )
    assert org.returncode == 0, org.stderr
    assert cli(cli_env, "run", "--org", "cli-review", "--period", "2026-08").returncode == 0
    listed = json.loads(cli(cli_env, "statements", "list", "--org", "cli-review", "--json").stdout)
    pending = [s for s in listed if s["status"] == "pending_review"]
    assert pending, "the demo has customers without auto-send"
    st = pending[0]

    too_big = cli(
        cli_env,
        "statements",
        "adjust",
        st["id"],
        "--credit",
        "99999999",
        "--description",
        "Refund",
        "--reason",
        "test",
    )
    assert too_big.returncode != 0
    assert "larger than the statement's subtotal" in too_big.stderr
    unknown = cli(
        cli_env,
        "statements",
        "adjust",
        st["id"],
        "--line",
        "L99",
        "--quantity",
        "1",
        "--reason",
        "test",
    )
    assert unknown.returncode != 0 and "no line 'L99'" in unknown.stderr

    adjusted = cli(
        cli_env,
        "statements",
        "adjust",
        st["id"],
        "--line",
        "L1",
        "--description",
        "Agreed with finance",
        "--reason",
        "customer query",
        "--actor",
        "ann",
        "--json",
    )
    assert adjusted.returncode == 0, adjusted.stderr
    assert json.loads(adjusted.stdout)["revision"] == 1
    shown = cli(cli_env, "statements", "show", st["id"])
    assert "Adjustments, in order:" in shown.stdout and "ann" in shown.stdout

    sent = cli(cli_env, "statements", "send", st["id"])
    assert sent.returncode == 0, sent.stderr
    assert "revision 1" in sent.stdout
    twice = cli(cli_env, "statements", "send", st["id"])
    assert twice.returncode != 0 and "already sent" in twice.stderr

    rest = cli(
        cli_env, "statements", "send", "--org", "cli-review", "--period", "2026-08", "--pending"
    )
    assert rest.returncode == 0, rest.stderr
    assert rest.stdout.count("sent ") == len(pending) - 1

    resent = cli(cli_env, "statements", "resend", st["id"])
    assert resent.returncode == 0, resent.stderr

    for rev, name in ((None, "current.pdf"), ("0", "original.pdf")):
        out = tmp_path / name
        args = ["statements", "pdf", st["id"], "--output", str(out)]
        if rev is not None:
            args += ["--revision", rev]
        saved = cli(cli_env, *args)
        assert saved.returncode == 0, saved.stderr
        assert out.read_bytes().startswith(b"%PDF")

    outbox = json.loads(cli(cli_env, "local", "outbox", "--json").stdout)
    to_customer = [m for m in outbox if st["billingEmail"] in m["to"] and "Review IT" in m["from"]]
    # Named after the statement number, whatever the revision.
    assert [m["attachments"][0]["filename"] for m in to_customer] == [
        f"{st['number']}.pdf",
        f"{st['number']}.pdf",
    ]
    assert all(m["attachments"][0]["size"] > 1000 for m in to_customer)


def test_org_logo_is_checked_stored_and_printed_and_each_adjusted_revision_has_its_pdf(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    import io

    from PIL import Image
    from pypdf import PdfReader

    from psa_billing.render.samples import logo_png

    doc = tmp_path / "logo.json"
    made = cli(
        cli_env,
        "demo-data",
        *("--customers", "3", "--seed", "9", "--period", "2026-07"),
        *("--org", "cli-logo", "--output", str(doc)),
    )
    assert made.returncode == 0, made.stderr
    assert cli(cli_env, "import", str(doc)).returncode == 0

    gif = tmp_path / "logo.gif"
    Image.new("RGB", (60, 20)).save(gif, format="GIF")
    refused = cli(cli_env, "org", "set", "cli-logo", "--logo", str(gif))
    assert refused.returncode != 0
    assert refused.stderr.strip() == f"psa-billing: {gif}: a GIF image; use PNG or JPEG"
    png = tmp_path / "logo.png"
    png.write_bytes(logo_png())
    accepted = cli(cli_env, "org", "set", "cli-logo", "--logo", str(png))
    assert accepted.returncode == 0, accepted.stderr
    assert any(line.startswith("logo: ") for line in accepted.stdout.splitlines())

    assert cli(cli_env, "run", "--org", "cli-logo", "--period", "2026-07").returncode == 0
    listed = json.loads(cli(cli_env, "statements", "list", "--org", "cli-logo", "--json").stdout)
    st = listed[0]
    for args in (
        ("--line", "L1", "--description", "Agreed with finance"),
        ("--credit", "1", "--description", "Goodwill"),
    ):
        done = cli(cli_env, "statements", "adjust", st["id"], *args, "--reason", "query")
        assert done.returncode == 0, done.stderr

    # Revision 1 was never current when a PDF was asked for: `adjust` rendered it.
    for rev in ("0", "1"):
        out = tmp_path / f"r{rev}.pdf"
        saved = cli(cli_env, "statements", "pdf", st["id"], "--revision", rev, "-o", str(out))
        assert saved.returncode == 0, saved.stderr
        reader = PdfReader(io.BytesIO(out.read_bytes()))
        assert len(reader.pages[0].images) == 1  # the logo
        text = reader.pages[0].extract_text()
        assert ("Agreed with finance" in text) is (rev == "1")


def _no_stack_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env["PSA_BILLING_LOCAL_PORT"] = str(_free_port())  # nothing listens there
    env.pop("PSA_BILLING_DEBUG", None)
    return env


def test_the_schedule_and_a_bounce_can_be_seen_from_the_command_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    doc = tmp_path / "sched.json"
    made = cli(cli_env, "demo-data", "--customers", "6", "--seed", "8", "--period", "2026-08",
               "--org", "cli-sched", "--output", str(doc))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli(cli_env, "import", str(doc)).returncode == 0

    # 1 September 00:15 UTC: August's billing moment (billing day 1, UTC) has passed.
    woke = cli(cli_env, "local", "schedule", "--now", "2026-09-01T00:15:00Z", "--wait")
    assert woke.returncode == 0, woke.stderr
    assert "started cli-sched-2026-08-scheduled (cli-sched 2026-08" in woke.stdout
    again = cli(cli_env, "local", "schedule", "--now", "2026-09-01T00:15:00Z", "--json")
    assert "cli-sched" not in [d["orgId"] for d in json.loads(again.stdout)["started"]]

    listed = json.loads(cli(cli_env, "statements", "list", "--org", "cli-sched", "--json").stdout)
    sent = [s for s in listed if s["status"] == "sent"]
    assert sent and all(s["review"] is not None for s in listed)
    bounced = cli(
        cli_env, "local", "bounce", sent[0]["id"], "--diagnostic", "smtp; 550 no such user"
    )
    assert bounced.returncode == 0, bounced.stderr
    assert "bounced queued_for_review" in bounced.stdout

    shown = json.loads(cli(cli_env, "statements", "show", sent[0]["id"], "--json").stdout)
    assert shown["status"] == "pending_review"
    assert shown["delivery"]["event"] == "bounced"
    assert shown["delivery"]["diagnostic"] == "smtp; 550 no such user"
    assert shown["delivery"]["source"] == "local simulation"
    queue = cli(cli_env, "statements", "review", "--org", "cli-sched")
    assert queue.returncode == 0, queue.stderr
    assert sent[0]["id"] in queue.stdout and "smtp; 550 no such user" in queue.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("statements", "list", "--org", "x"),
        ("statements", "show", "nope"),
        ("statements", "pdf", "a:b:2026-10", "--output", "/tmp/x.pdf"),
        ("org", "set", "x", "--name", "X"),
        ("local", "outbox"),
        ("users", "list", "--org", "x"),
        ("import", "status", "x"),
    ],
)
def test_every_command_says_in_one_line_that_the_local_stack_is_down(
    args: tuple[str, ...],
) -> None:
    done = subprocess.run(
        [*CLI, *args], env=_no_stack_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "cannot reach http://127.0.0.1:" in line and "psa-billing local up" in line


def test_a_missing_file_a_directory_and_a_taken_port_are_one_line_each(tmp_path: Path) -> None:
    env = _no_stack_env()
    for path, reason in ((tmp_path / "none.json", "no such file"), (tmp_path, "not a file")):
        done = subprocess.run(
            [*CLI, "import", str(path)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode != 0 and done.stderr.strip() == f"psa-billing: {path}: {reason}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [*CLI, "local", "up", "--port", port],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # refused at once, never a hang
            check=False,
        )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr.strip().splitlines()[-1]


def test_void_rerun_and_late_time_through_the_command_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    doc_path = tmp_path / "void.json"
    made = cli(
        cli_env,
        *("demo-data", "--customers", "5", "--seed", "12", "--period", "2026-07"),
        *("--org", "cli-void", "--output", str(doc_path)),
    )
    assert made.returncode == 0, made.stderr
    assert cli(cli_env, "import", str(doc_path)).returncode == 0
    assert cli(cli_env, "run", "--org", "cli-void", "--period", "2026-07").returncode == 0
    listed = cli(
        cli_env, "statements", "list", "--org", "cli-void", "--period", "2026-07", "--json"
    )
    statements = json.loads(listed.stdout)
    doc = json.loads(doc_path.read_text())
    with_tickets = {t["customerId"] for t in doc["tickets"]}
    voided_id, late_id = [s["id"] for s in statements if s["customerId"] in with_tickets][:2]

    # Void: kept, nothing due; a second void is refused in one line.
    void = cli(cli_env, "statements", "void", voided_id, "--reason", "wrong customer", "--json")
    assert void.returncode == 0, void.stderr
    shown = json.loads(void.stdout)
    assert (shown["status"], shown["void"]["reason"]) == ("void", "wrong customer")
    assert set(shown["amountDue"]) <= {"0", "."}
    twice = cli(cli_env, "statements", "void", voided_id, "--reason", "again")
    assert twice.returncode == 1 and "already void" in twice.stderr
    assert len(twice.stderr.strip().splitlines()) == 1

    # The next run bills it on a new statement with a new number.
    rerun = cli(cli_env, "run", "--org", "cli-void", "--period", "2026-07", "--json")
    assert json.loads(rerun.stdout)["counts"]["billed"] == 1
    new = json.loads(cli(cli_env, "statements", "show", f"{voided_id}:v2", "--json").stdout)
    assert new["version"] == 2 and new["number"] != shown["number"]
    assert new["total"] == shown["total"]

    # Late time: imported after the run, reported by the run, billed once by adjusting.
    customer = next(s["customerId"] for s in statements if s["id"] == late_id)
    ticket = next(t["id"] for t in doc["tickets"] if t["customerId"] == customer)
    doc["timeEntries"].append(
        {
            "id": "late-cli-1",
            "ticketId": ticket,
            "date": "2026-07-31",
            "minutes": 60,
            "billable": True,
            "description": "remote fix, logged late",
            "userId": "u-cli",
        }
    )
    doc_path.write_text(json.dumps(doc))
    imported = cli(cli_env, "import", str(doc_path))
    assert imported.returncode == 0 and "late time" in imported.stdout + imported.stderr
    report = cli(cli_env, "run", "--org", "cli-void", "--period", "2026-07")
    assert report.returncode == 0, report.stderr
    assert f"late time waiting: cli-void/{customer}: 1 entry, 1.00 h" in report.stdout
    waiting = json.loads(cli(cli_env, "statements", "show", late_id, "--json").stdout)
    assert waiting["lateWaiting"]["count"] == 1
    assert waiting["lateWaiting"]["entries"][0]["id"] == "late-cli-1"

    adjust = [*("statements", "adjust", late_id, "--late-time", "--reason", "logged late")]
    adjusted = cli(cli_env, *adjust, "--json")
    assert adjusted.returncode == 0, adjusted.stderr
    after = json.loads(adjusted.stdout)
    assert after["revision"] == waiting["revision"] + 1
    assert after["adjustments"][-1]["kind"] == "late_time"
    assert after["adjustments"][-1]["entryIds"] == ["late-cli-1"]
    second = cli(cli_env, *adjust)
    assert second.returncode == 1 and "no late entries waiting" in second.stderr
