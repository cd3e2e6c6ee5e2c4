"""The certificate benchmark's run at a tiny size: a warm renderer renders a few certificates of varied facts and the
script prints the render times, the PDF sizes and the verdicts against issue 8's targets. Here: that it ran without a
failure and printed them; the figures themselves depend on the machine."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "certificates.py"


def _figure(output: str, label: str) -> list[str]:
    match = re.search(rf"^{re.escape(label)}\s+(.*)$", output, re.M)
    assert match, f"{label!r} is not in the output:\n{output}"
    return match.group(1).split()


def test_a_tiny_run_renders_every_certificate_and_prints_the_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--renders", "4", "--warmup", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    assert re.search(r"^renders=4 failures=0$", output, re.M), output
    median, p95, p99, largest = (
        float(_figure(output, f"warm render {name} ms")[0]) for name in ("median", "p95", "p99", "max")
    )
    assert 0 < median <= p95 <= p99 <= largest
    for label in ("warm render median ms", "warm render p99 ms"):
        value, *verdict = _figure(output, label)
        assert verdict[:2] == ["<=", "250"], output
        assert verdict[2] == ("PASS" if float(value) <= 250 else "MISS")
    mean_bytes = int(_figure(output, "PDF mean bytes")[0])
    max_bytes, *verdict = _figure(output, "PDF max bytes")
    assert 5_000 < mean_bytes <= int(max_bytes)  # a real PDF, not an empty one
    assert verdict == ["<=", "100000", "PASS" if int(max_bytes) <= 100_000 else "MISS"]
    for label in (
        "renderer start-up ms (template, stylesheet, font configuration)",
        "first render ms (cold: fonts loaded)",
        "sign credential median ms (RS256, 3072-bit key)",
    ):
        assert float(_figure(output, label)[0]) > 0
