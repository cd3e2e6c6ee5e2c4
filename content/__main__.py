"""``python -m content [DIR]``: the content check without the web app (``tracebook content check`` is the same)."""

import sys
from pathlib import Path

from content.check import check_module
from content.loader import DEFAULT_MODULE_DIR

report = check_module(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODULE_DIR)
print(report.summary())
sys.exit(0 if report.ok else 1)
