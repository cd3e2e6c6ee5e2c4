"""A second opinion on our statements: Learning Locker's conformance-tested ``xapi-validation`` (npm), run by
``tests/xapi/validate.mjs``. Ralph accepts some statements the spec forbids, so every statement the suite emits
must pass this as well as :func:`exports.xapi.problems`."""

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "xapi" / "validate.mjs"
PACKAGE = ROOT / "node_modules" / "xapi-validation"


def xapi_problems(statements: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """One list of problems per statement, in order; empty lists when all are valid. One Node process per call,
    so pass a whole batch at once."""
    if not PACKAGE.is_dir():
        raise RuntimeError(f"{PACKAGE} is missing: run `npm ci` in {ROOT} (make test does).")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH: install Node.js 18 or later to validate xAPI statements.")
    completed = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(list(statements)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed (exit {completed.returncode}): {completed.stderr.strip()}")
    found: list[list[str]] = json.loads(completed.stdout)
    if len(found) != len(statements):
        raise RuntimeError(f"{SCRIPT.name} answered for {len(found)} statements, not {len(statements)}")
    return found
