"""The grades benchmark's smoke run: learners submit the module test, an outbox worker process posts their
scores to the emulator in its own process, and the script checks the emulator's gradebook. Here: that every
score arrived exactly once and the figures are printed; the figures themselves depend on the machine."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "grades.py"


def _figure(output: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s+(\S+)$", output, re.M)
    assert match, f"{label!r} is not in the output:\n{output}"
    return match.group(1)


def test_smoke_run_delivers_every_score_exactly_once_and_prints_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=120, check=False
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    totals = re.search(r"^submissions=(\d+) delivered=(\d+) failures=(\d+)$", output, re.M)
    assert totals, output
    assert totals.groups() == ("20", "20", "0"), output
    assert _figure(output, "database") == "SQLite"
    assert _figure(output, "outbox workers (tracebook worker processes)") == "1"
    # Each submission queued one score (its "Started" progress was superseded while pending), and the
    # emulator received each learner's score once, over HTTP, with no retry.
    assert _figure(output, "scores queued (pending messages)") == "20"
    assert _figure(output, "scores delivered (outbox)") == "20"
    assert _figure(output, "scores received (emulator gradebook)") == "20"
    assert _figure(output, "progress-only posts received") == "0"
    assert _figure(output, "score posts by status (emulator log)") == "204:20"
    assert _figure(output, "retried sends") == "0"
    # One worker process asks the platform for one token and reuses it for every score.
    assert _figure(output, "tokens fetched") == "1"
    for label in ("time to queue s (start + submit, in-process)", "time to drain s", "scores/s delivered"):
        assert float(_figure(output, label)) > 0
