"""SCORM 1.2, SCORM 2004 4th edition and cmi5 packages of the module (issue 7), built from ``content``.

One page per lesson, quiz and lab and one for the module test, the tool's stylesheet, and our own small runtime
(``assets/runtime.js``) that reports to the LMS what the LTI tool reports: scores, statuses, one interaction per
answer, resume data, and for cmi5 the xAPI statements under the LTI tool's activity ids.
"""

from exports.packages.builder import BuildStep, Progress, build_package, package_build, runtime_script
from exports.packages.pages import lab_checks
from exports.packages.units import SHARED_FILES, PackageFormat, PackageUnit, package_units

__all__ = [
    "SHARED_FILES",
    "BuildStep",
    "PackageFormat",
    "PackageUnit",
    "Progress",
    "build_package",
    "lab_checks",
    "package_build",
    "package_units",
    "runtime_script",
]
