"""The lab chat benchmark's smoke run: the script starts the tool, the emulator and an OpenAI-compatible server,
launches two learners into Lab 2 and has them chat at once. Here: that every exchange streamed from the model
(none fell back to the tutor) and the figures are printed; the figures themselves depend on the machine."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "labs.py"
DISTRIBUTION = r"\s+(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)"


def _distribution(output: str, label: str, verdict: bool) -> tuple[int, list[float]]:
    """n and median, p95, p99, max (ms) of a figure; with ``verdict``, the target and PASS or MISS after them."""
    pattern = rf"^{re.escape(label)}{DISTRIBUTION}" + (r"\s+<= 20\s+(PASS|MISS)$" if verdict else "$")
    match = re.search(pattern, output, re.M)
    assert match, f"{label!r} is not in the output:\n{output}"
    n, *values = match.groups()[:5]
    return int(n), [float(value) for value in values]


def test_smoke_run_streams_every_exchange_from_the_model_and_prints_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=120, check=False
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    assert re.search(r"^exchanges=4 failures=0$", output, re.M), output
    assert re.search(r"^warm-up\s+2\s+2\s+0\s", output, re.M), output
    assert re.search(r"^measured\s+2\s+4\s+0\s", output, re.M), output
    for label in ("(a) first-chunk overhead (tool adds) ms", "(b) per-exchange overhead outside model calls ms"):
        n, (median, p95, p99, largest) = _distribution(output, label, verdict=True)
        assert n == 4
        assert median <= p95 <= p99 <= largest
    # The model server held back its first chunk for 0.2 s: the model calls take at least that, and the browser
    # waits for them too, so the overhead is what is left, not the whole exchange.
    _, (model_median, *_) = _distribution(output, "model calls per exchange (reply + judge) ms", verdict=False)
    assert model_median >= 200
    _, (whole_median, *_) = _distribution(output, "exchange as the browser sees it (sent -> done) ms", verdict=False)
    assert whole_median >= model_median
    assert re.search(r"^exchanges/s \(measured phase\)\s+\d+\.\d+$", output, re.M), output
