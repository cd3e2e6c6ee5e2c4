"""Building a SCORM 1.2, SCORM 2004 4th edition or cmi5 package of the module as zip bytes.

Pure: the caller passes the tool's stylesheet (``exports`` never imports ``lms_plugin``, where it lives) and the
xAPI activity-id prefix, and gets the zip back. The same module and arguments give the same bytes (fixed
timestamps, fixed order), so a package can be compared with the one built before.
"""

import functools
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files

from content.model import Module
from exports.packages.manifests import cmi5_course_structure, scorm12_manifest, scorm2004_manifest
from exports.packages.pages import render_page
from exports.packages.units import PackageFormat, package_units
from exports.xapi.ids import ActivityIds

# Called after each file with (files done, files in all, the file's path): the admin page shows it as progress.
Progress = Callable[[int, int, str], None]

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry a date; a fixed one keeps builds byte-identical


def runtime_script() -> bytes:
    return files("exports.packages").joinpath("assets/runtime.js").read_bytes()


def _manifest(module: Module, package_format: PackageFormat, ids: ActivityIds) -> tuple[str, bytes]:
    units = package_units(module, ids)
    if package_format is PackageFormat.SCORM12:
        return "imsmanifest.xml", scorm12_manifest(module, units)
    if package_format is PackageFormat.SCORM2004:
        return "imsmanifest.xml", scorm2004_manifest(module, units)
    return "cmi5.xml", cmi5_course_structure(module, units, ids.module(module))


@dataclass(frozen=True)
class BuildStep:
    """One file written: the admin page shows these as the build's progress."""

    done: int
    total: int
    path: str
    package: bytes | None = None  # the finished zip, on the last step only


def package_build(
    module: Module, package_format: PackageFormat | str, *, stylesheet: bytes, activity_base: str
) -> Iterator[BuildStep]:
    """Build the package of ``package_format`` (``scorm12``, ``scorm2004`` or ``cmi5``) file by file; the last step
    carries the zip."""
    chosen = PackageFormat(package_format)
    ids = ActivityIds(activity_base)
    units = package_units(module, ids)
    manifest_name, manifest = _manifest(module, chosen, ids)
    entries: list[tuple[str, Callable[[], bytes]]] = [
        (manifest_name, lambda: manifest),
        ("shared/tracebook.css", lambda: stylesheet),
        ("shared/runtime.js", runtime_script),
    ]
    entries += [
        (unit.href, functools.partial(render_page, module, units, index, ids, chosen))
        for index, unit in enumerate(units)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for done, (path, content) in enumerate(entries[:-1], start=1):
            _write(archive, path, content())
            yield BuildStep(done, len(entries), path)
        last_path, last_content = entries[-1]
        _write(archive, last_path, last_content())
    yield BuildStep(len(entries), len(entries), last_path, buffer.getvalue())


def _write(archive: zipfile.ZipFile, path: str, content: bytes) -> None:
    info = zipfile.ZipInfo(path, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, content)


def build_package(
    module: Module,
    package_format: PackageFormat | str,
    *,
    stylesheet: bytes,
    activity_base: str,
    progress: Progress | None = None,
) -> bytes:
    """The module as a package of ``package_format``, as zip bytes."""
    for step in package_build(module, package_format, stylesheet=stylesheet, activity_base=activity_base):
        if progress is not None:
            progress(step.done, step.total, step.path)
        if step.package is not None:
            return step.package
    raise AssertionError("a package build always ends with the package")
