"""The exports benchmark's run: all three packages built in one fresh process within the 2-second budget of
issue 7, with each package's size printed."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "exports.py"


def test_all_three_formats_build_within_the_budget_and_print_their_sizes() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr

    rows = re.findall(r"^(scorm12|scorm2004|cmi5)\s+([\d.]+)\s+(\d+)\s+(\d+)$", run.stdout, re.M)
    assert [row[0] for row in rows] == ["scorm12", "scorm2004", "cmi5"], run.stdout
    for _, seconds, size, files in rows:
        assert float(seconds) > 0
        assert 10_000 < int(size) < 500_000  # small, and not empty
        assert int(files) == 16  # the manifest, the stylesheet, the runtime and 13 pages
    total = re.search(r"^total s\s+([\d.]+)$", run.stdout, re.M)
    assert total is not None
    assert float(total.group(1)) < 2.0
