"""The packages' manifests against the official schemas (../shared/schemas, with lxml), and the content-packaging
rules the schemas cannot check: every identifierref resolves, every file a resource lists is in the zip, every file
in the zip is listed."""

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from content import Module
from exports.packages import PackageFormat, build_package

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT.parent / "shared" / "schemas"
STYLESHEET = (ROOT / "lms_plugin" / "static" / "tracebook.css").read_bytes()
BASE = "https://tracebook.example.edu/xapi"

CP12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
CP2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
ADLCP2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
IMSSS = "http://www.imsglobal.org/xsd/imsss"
CMI5 = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"

# One wrapper schema per manifest that imports each namespace from its file beside it (schemas/README.md).
WRAPPERS = {
    PackageFormat.SCORM12: ("scorm12", [(CP12, "imscp_rootv1p1p2.xsd"), (ADLCP12, "adlcp_rootv1p2.xsd")]),
    PackageFormat.SCORM2004: (
        "scorm2004-4th",
        [
            (CP2004, "imscp_v1p1.xsd"),
            (ADLCP2004, "adlcp_v1p3.xsd"),
            ("http://www.adlnet.org/xsd/adlseq_v1p3", "adlseq_v1p3.xsd"),
            ("http://www.adlnet.org/xsd/adlnav_v1p3", "adlnav_v1p3.xsd"),
            (IMSSS, "imsss_v1p0.xsd"),
        ],
    ),
}


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[PackageFormat, etree.XMLSchema]:
    found = {PackageFormat.CMI5: etree.XMLSchema(etree.parse(str(SCHEMAS / "cmi5" / "CourseStructure.xsd")))}
    for package_format, (folder, imports) in WRAPPERS.items():
        # The schema folders are read-only: the wrapper sits beside a copy.
        copy = tmp_path_factory.mktemp(folder) / folder
        shutil.copytree(SCHEMAS / folder, copy)
        lines = "".join(f'<xs:import namespace="{ns}" schemaLocation="{file}"/>' for ns, file in imports)
        (copy / "wrapper.xsd").write_text(
            f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{lines}</xs:schema>', encoding="utf-8"
        )
        found[package_format] = etree.XMLSchema(etree.parse(str(copy / "wrapper.xsd")))
    return found


def _zip(module: Module, package_format: PackageFormat) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(build_package(module, package_format, stylesheet=STYLESHEET, activity_base=BASE)))


@pytest.fixture(scope="module")
def packages(module: Module) -> dict[PackageFormat, zipfile.ZipFile]:
    return {package_format: _zip(module, package_format) for package_format in PackageFormat}


def _manifest(package: zipfile.ZipFile, package_format: PackageFormat) -> etree._Element:
    name = "cmi5.xml" if package_format is PackageFormat.CMI5 else "imsmanifest.xml"
    return etree.fromstring(package.read(name))


@pytest.mark.parametrize("package_format", list(PackageFormat))
def test_every_manifest_validates_against_the_official_schema(
    packages: dict[PackageFormat, zipfile.ZipFile],
    schemas: dict[PackageFormat, etree.XMLSchema],
    package_format: PackageFormat,
) -> None:
    schema = schemas[package_format]
    valid = schema.validate(_manifest(packages[package_format], package_format))
    assert valid, [str(error) for error in schema.error_log]


def test_the_schema_check_catches_a_broken_manifest(
    packages: dict[PackageFormat, zipfile.ZipFile], schemas: dict[PackageFormat, etree.XMLSchema]
) -> None:
    manifest = _manifest(packages[PackageFormat.SCORM2004], PackageFormat.SCORM2004)
    primary = manifest.find(f".//{{{IMSSS}}}primaryObjective")
    assert primary is not None
    primary.set("satisfiedByMeasure", "maybe")
    assert not schemas[PackageFormat.SCORM2004].validate(manifest)


def _resources(manifest: etree._Element, ns: str) -> Iterator[etree._Element]:
    yield from manifest.iter(f"{{{ns}}}resource")


@pytest.mark.parametrize(("package_format", "ns"), [(PackageFormat.SCORM12, CP12), (PackageFormat.SCORM2004, CP2004)])
def test_every_reference_resolves_and_every_file_is_listed_exactly(
    packages: dict[PackageFormat, zipfile.ZipFile], package_format: PackageFormat, ns: str
) -> None:
    package = packages[package_format]
    manifest = _manifest(package, package_format)
    resources = {r.get("identifier"): r for r in _resources(manifest, ns)}
    references = [item.get("identifierref") for item in manifest.iter(f"{{{ns}}}item")]
    references += [d.get("identifierref") for d in manifest.iter(f"{{{ns}}}dependency")]
    assert references
    assert [ref for ref in references if ref not in resources] == []
    listed = {f.get("href") for r in resources.values() for f in r.iter(f"{{{ns}}}file")}
    in_zip = set(package.namelist()) - {"imsmanifest.xml"}
    assert listed == in_zip
    assert all(r.get("href") in listed for r in resources.values() if r.get("href"))


def test_the_cmi5_course_structure_launches_files_in_the_zip(packages: dict[PackageFormat, zipfile.ZipFile]) -> None:
    package = packages[PackageFormat.CMI5]
    urls = [url.text for url in _manifest(package, PackageFormat.CMI5).iter(f"{{{CMI5}}}url")]
    assert len(urls) == 13
    assert set(urls) <= set(package.namelist())
    assert set(package.namelist()) - set(urls) == {"cmi5.xml", "shared/tracebook.css", "shared/runtime.js"}


def test_scorm12_has_its_metadata_one_sco_per_unit_and_mastery_80_on_the_test(
    module: Module, packages: dict[PackageFormat, zipfile.ZipFile]
) -> None:
    manifest = _manifest(packages[PackageFormat.SCORM12], PackageFormat.SCORM12)
    assert manifest.findtext(f"{{{CP12}}}metadata/{{{CP12}}}schema") == "ADL SCORM"
    assert manifest.findtext(f"{{{CP12}}}metadata/{{{CP12}}}schemaversion") == "1.2"
    items = list(manifest.iter(f"{{{CP12}}}item"))
    assert [item.get("identifier") for item in items] == [f"item-{unit.id}" for unit in module.units]
    mastery = {item.get("identifier"): item.findtext(f"{{{ADLCP12}}}masteryscore") for item in items}
    assert mastery.pop("item-module-test") == "80"
    assert set(mastery.values()) == {None}
    scos = [r for r in _resources(manifest, CP12) if r.get(f"{{{ADLCP12}}}scormtype") == "sco"]
    assert len(scos) == len(module.units)


def test_scorm2004_flows_in_module_order_and_the_test_is_passed_by_a_measure_of_0_8(
    module: Module, packages: dict[PackageFormat, zipfile.ZipFile]
) -> None:
    manifest = _manifest(packages[PackageFormat.SCORM2004], PackageFormat.SCORM2004)
    assert manifest.findtext(f"{{{CP2004}}}metadata/{{{CP2004}}}schemaversion") == "2004 4th Edition"
    organization = manifest.find(f".//{{{CP2004}}}organization")
    assert organization is not None
    items = organization.findall(f"{{{CP2004}}}item")
    assert [item.get("identifierref") for item in items] == [f"res-{unit.id}" for unit in module.units]
    control = organization.find(f"{{{IMSSS}}}sequencing/{{{IMSSS}}}controlMode")
    assert control is not None
    assert (control.get("flow"), control.get("choice")) == ("true", "true")
    primaries = list(manifest.iter(f"{{{IMSSS}}}primaryObjective"))
    assert len(primaries) == 1
    assert primaries[0].get("satisfiedByMeasure") == "true"
    assert primaries[0].findtext(f"{{{IMSSS}}}minNormalizedMeasure") == "0.8"
    test_item = primaries[0].getparent().getparent().getparent()  # objectives < sequencing < item
    assert test_item.get("identifier") == "item-module-test"


def test_cmi5_has_blocks_per_lesson_and_the_test_moves_on_when_passed_at_0_8(
    module: Module, packages: dict[PackageFormat, zipfile.ZipFile]
) -> None:
    structure = _manifest(packages[PackageFormat.CMI5], PackageFormat.CMI5)
    course = structure.find(f"{{{CMI5}}}course")
    assert course is not None
    assert course.get("id") == f"{BASE}/modules/{module.id}"
    blocks = structure.findall(f"{{{CMI5}}}block")
    assert len(blocks) == len(module.lessons)
    assert [len(block.findall(f"{{{CMI5}}}au")) for block in blocks] == [3, 3, 3, 3]
    aus = {au.get("id"): au for au in structure.iter(f"{{{CMI5}}}au")}
    test = aus.pop(f"{BASE}/modules/{module.id}/assessments/module-test")
    assert (test.get("moveOn"), test.get("masteryScore"), test.get("launchMethod")) == ("Passed", "0.8", "AnyWindow")
    assert {(au.get("moveOn"), au.get("masteryScore"), au.get("launchMethod")) for au in aus.values()} == {
        ("Completed", None, "AnyWindow")
    }
    assert f"{BASE}/modules/{module.id}/lessons/lesson-1" in aus
    assert f"{BASE}/modules/{module.id}/labs/lab-1" in aus
