"""The launch benchmark's smoke run: the script starts the tool and the emulator, launches a few times and
prints its figures. Only that it works is checked here; the figures themselves depend on the machine."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "launch.py"


def _figure(output: str, label: str) -> float:
    match = re.search(rf"^{re.escape(label)}\s+(\d+(?:\.\d+)?)\b", output, re.M)
    assert match, f"{label!r} is not in the output:\n{output}"
    return float(match.group(1))


def test_smoke_run_launches_without_failures_and_prints_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=120, check=False
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    totals = re.search(r"^launches=(\d+) failures=(\d+)$", output, re.M)
    assert totals, output
    assert int(totals.group(2)) == 0
    phases = dict(re.findall(r"^(1 client|2 clients)\s+\d+\s+(\d+)\s+0\s", output, re.M))
    assert phases == {"1 client": "5", "2 clients": "5"}, output

    for label in (
        "1 client: tool part (login+launch+first page) p50 ms",
        "1 client: tool part (login+launch+first page) p99 ms",
        "1 client: whole flow (incl. emulator auth hop) p50 ms",
        "1 client: whole flow (incl. emulator auth hop) p99 ms",
        "2 clients: launches/s",
        "2 clients: tool server CPU ms/launch (gunicorn master+workers)",
    ):
        assert _figure(output, label) > 0
    # The platform's keys are fetched once and cached, not fetched on every launch.
    assert _figure(output, "JWKS fetches by the tool (all launches)") == 1
    assert re.search(r"\b(PASS|MISS)\b", output)
