"""Export packages (SCORM 1.2, SCORM 2004, cmi5) of the tool's module, for the CLI and the admin's exports page:
the pure builder in exports.packages, given the tool's own stylesheet and its xAPI activity-id prefix so a cmi5
package reports under the same activity ids as the tool."""

from collections.abc import Iterator
from pathlib import Path

from content.model import Module
from exports.packages import BuildStep, PackageFormat, package_build

STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "tracebook.css"

FORMAT_NAMES = {
    PackageFormat.SCORM12: "SCORM 1.2",
    PackageFormat.SCORM2004: "SCORM 2004 4th edition",
    PackageFormat.CMI5: "cmi5",
}


def file_name(module: Module, package_format: PackageFormat) -> str:
    return f"tracebook-{module.id}-{package_format}.zip"


def build_steps(module: Module, package_format: PackageFormat, activity_base: str) -> Iterator[BuildStep]:
    return package_build(module, package_format, stylesheet=STYLESHEET.read_bytes(), activity_base=activity_base)


def build(module: Module, package_format: PackageFormat, activity_base: str) -> bytes:
    for step in build_steps(module, package_format, activity_base):
        if step.package is not None:
            return step.package
    raise AssertionError("a package build always ends with the package")
