"""Benchmark of the export packages: SCORM 1.2, SCORM 2004 and cmi5 built from the module, in one fresh process
as `tracebook export` builds them (templates compiled, content rendered, zips deflated), with each package's size.

    python benchmarks/exports.py                 # budget: all three formats in under 2 s together

Exits non-zero when the three builds together take longer than ``--budget`` seconds.
"""

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

# Run as a script, this file's folder would be first on sys.path, where benchmarks/labs.py and exports.py would
# shadow the packages of those names: the repository takes its place.
sys.path[0] = str(Path(__file__).resolve().parents[1])
ROOT = Path(__file__).resolve().parents[1]

from content import load_default_module
from exports.packages import PackageFormat, build_package

STYLESHEET = ROOT / "lms_plugin" / "static" / "tracebook.css"
ACTIVITY_BASE = "https://tracebook.example.edu/xapi"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds allowed for the three builds together")
    args = parser.parse_args()

    module = load_default_module()
    total = 0.0
    print(f"{'format':<12}{'seconds':>10}{'bytes':>10}{'files':>7}")
    for package_format in PackageFormat:
        started = time.perf_counter()
        package = build_package(module, package_format, stylesheet=STYLESHEET.read_bytes(), activity_base=ACTIVITY_BASE)
        seconds = time.perf_counter() - started
        total += seconds
        files = len(zipfile.ZipFile(io.BytesIO(package)).namelist())
        print(f"{package_format:<12}{seconds:>10.3f}{len(package):>10}{files:>7}")
    print(f"total s     {total:.3f}")
    print(f"budget s    {args.budget:.3f}")
    if total >= args.budget:
        print(f"over budget: {total:.3f} s >= {args.budget:.3f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
