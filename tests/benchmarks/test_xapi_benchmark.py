"""The xAPI benchmark's smoke run: simulated learners answer through the attempt service, an outbox worker
process delivers their statements to the fast sink (and to Ralph when `make ralph` has installed it), and the
script checks that every statement arrived once. Here: that it did and the figures are printed; the figures
themselves depend on the machine."""

import re
import subprocess
import sys
from pathlib import Path

from tests.lrs import RALPH_VENV

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "xapi.py"
PERCENTILES = ("p50", "p95", "p99", "max")


def _figure(output: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s+(\S+)", output, re.M)
    assert match, f"{label!r} is not in the output:\n{output}"
    return match.group(1)


def test_smoke_run_delivers_every_statement_once_and_prints_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=120, check=False
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    sinks = ["fast", "ralph"] if (RALPH_VENV / "bin" / "python").exists() else ["fast"]
    totals = re.findall(r"^sink=(\w+) phase=(\w+) statements=(\d+) delivered=(\d+) failures=(\d+)$", output, re.M)
    assert [(sink, phase) for sink, phase, *_ in totals] == [(s, p) for s in sinks for p in ("throughput", "lag")]
    for sink, phase, statements, delivered, failures in totals:
        # At least the 100 asked for (a submission's statements may go past it), each delivered exactly once.
        assert 100 <= int(statements) < 110, (sink, phase, output)
        assert delivered == statements, (sink, phase, output)
        assert failures == "0", (sink, phase, output)
        prefix = f"{sink} {phase}:"
        assert float(_figure(output, f"{prefix} statements/s delivered")) > 0
        lags = [float(_figure(output, f"{prefix} lag commit -> worker got 2xx {p} ms")) for p in PERCENTILES]
        assert 0 < lags[0] <= lags[1] <= lags[2] <= lags[3], output
    assert _figure(output, "fast lag: sends deferred (no LRS) or retried") == "0"
    # The verdicts against the targets are printed, whatever they are on this machine.
    assert re.search(r"^fast throughput: statements/s delivered\s+\S+\s+>= 2000\s+(PASS|MISS)$", output, re.M)
    assert re.search(r"^fast lag: lag commit -> worker got 2xx p99 ms\s+\S+\s+< 2000\s+(PASS|MISS)$", output, re.M)
