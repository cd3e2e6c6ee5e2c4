"""The package manifests:

- SCORM 1.2 ``imsmanifest.xml`` (SCORM 1.2 CAM §2.3: IMS Content Packaging 1.1.2 + ADL extensions): metadata
  "ADL SCORM" / "1.2", one item and one ``sco`` resource per unit, ``adlcp:masteryscore`` 80 on the module test.
- SCORM 2004 4th edition ``imsmanifest.xml`` (CAM §3.4, Sequencing and Navigation §5): flow and choice navigation
  in the module's order; the test's primary objective is satisfied by its measure, at least 0.8.
- cmi5 ``cmi5.xml`` (cmi5 §13.1, the CourseStructure schema): the course, a block per lesson (lesson, quiz, lab),
  the module test as an AU of its own with ``moveOn="Passed"`` and ``masteryScore`` 0.8.

Every file of a package is listed by a resource: each SCO's page, and the shared runtime and stylesheet as one
``asset`` resource every SCO depends on (CAM: a package lists the files it delivers).
"""

from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

from content.model import Module, UnitKind
from exports.packages.units import SHARED_FILES, PackageUnit

IMSCP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
IMSCP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
ADLSEQ_2004 = "http://www.adlnet.org/xsd/adlseq_v1p3"
ADLNAV_2004 = "http://www.adlnet.org/xsd/adlnav_v1p3"
IMSSS = "http://www.imsglobal.org/xsd/imsss"
CMI5 = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LANGUAGE = "en-US"
SHARED_RESOURCE = "res-shared"


def _element(tag: str, attributes: dict[str, str] | None = None, *children: str, text: str | None = None) -> str:
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in (attributes or {}).items())
    inner = escape(text) if text is not None else "".join(children)
    return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"


def _document(root: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + root + "\n").encode()


def _mastery_decimal(module: Module) -> str:
    ratio = module.settings.pass_ratio
    return str(ratio.numerator / ratio.denominator)


def _identifier(module: Module) -> str:
    return f"tracebook-{module.id}"


def _resources(units: Sequence[PackageUnit], scorm_type: str) -> str:
    scos = [
        _element(
            "resource",
            {"identifier": f"res-{unit.id}", "type": "webcontent", scorm_type: "sco", "href": unit.href},
            _element("file", {"href": unit.href}),
            _element("dependency", {"identifierref": SHARED_RESOURCE}),
        )
        for unit in units
    ]
    shared = _element(
        "resource",
        {"identifier": SHARED_RESOURCE, "type": "webcontent", scorm_type: "asset"},
        *(_element("file", {"href": path}) for path in SHARED_FILES),
    )
    return _element("resources", None, *scos, shared)


def scorm12_manifest(module: Module, units: Sequence[PackageUnit]) -> bytes:
    def item(unit: PackageUnit) -> str:
        is_test = unit.kind is UnitKind.TEST
        mastery = [_element("adlcp:masteryscore", text=str(module.settings.pass_percent))] if is_test else []
        attributes = {"identifier": f"item-{unit.id}", "identifierref": f"res-{unit.id}"}
        return _element("item", attributes, _element("title", text=unit.title), *mastery)

    metadata = _element("metadata", None, _element("schema", text="ADL SCORM"), _element("schemaversion", text="1.2"))
    organization = _element(
        "organization", {"identifier": "org"}, _element("title", text=module.title), *(item(u) for u in units)
    )
    root = _element(
        "manifest",
        {
            "identifier": _identifier(module),
            "version": "1.2",
            "xmlns": IMSCP_12,
            "xmlns:adlcp": ADLCP_12,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": f"{IMSCP_12} imscp_rootv1p1p2.xsd {ADLCP_12} adlcp_rootv1p2.xsd",
        },
        metadata,
        _element("organizations", {"default": "org"}, organization),
        _resources(units, "adlcp:scormtype"),
    )
    return _document(root)


def _test_sequencing(module: Module) -> str:
    # The test is passed when its score reaches the pass mark, whatever the SCO says (SN §5.1.5 satisfiedByMeasure);
    # the SCO still reports completion and success itself.
    primary = _element(
        "imsss:primaryObjective",
        {"objectiveID": "module-test-passed", "satisfiedByMeasure": "true"},
        _element("imsss:minNormalizedMeasure", text=_mastery_decimal(module)),
    )
    return _element("imsss:sequencing", None, _element("imsss:objectives", None, primary))


def scorm2004_manifest(module: Module, units: Sequence[PackageUnit]) -> bytes:
    def item(unit: PackageUnit) -> str:
        sequencing = [_test_sequencing(module)] if unit.kind is UnitKind.TEST else []
        attributes = {"identifier": f"item-{unit.id}", "identifierref": f"res-{unit.id}"}
        return _element("item", attributes, _element("title", text=unit.title), *sequencing)

    metadata = _element(
        "metadata", None, _element("schema", text="ADL SCORM"), _element("schemaversion", text="2004 4th Edition")
    )
    # Flow: "Continue" and "Previous" walk the items in the module's order; choice: the LMS's table of contents.
    root_sequencing = _element(
        "imsss:sequencing", None, _element("imsss:controlMode", {"choice": "true", "flow": "true"})
    )
    organization = _element(
        "organization",
        {"identifier": "org"},
        _element("title", text=module.title),
        *(item(u) for u in units),
        root_sequencing,
    )
    locations = " ".join(
        f"{namespace} {file}"
        for namespace, file in (
            (IMSCP_2004, "imscp_v1p1.xsd"),
            (ADLCP_2004, "adlcp_v1p3.xsd"),
            (ADLSEQ_2004, "adlseq_v1p3.xsd"),
            (ADLNAV_2004, "adlnav_v1p3.xsd"),
            (IMSSS, "imsss_v1p0.xsd"),
        )
    )
    root = _element(
        "manifest",
        {
            "identifier": _identifier(module),
            "version": "1",
            "xmlns": IMSCP_2004,
            "xmlns:adlcp": ADLCP_2004,
            "xmlns:adlseq": ADLSEQ_2004,
            "xmlns:adlnav": ADLNAV_2004,
            "xmlns:imsss": IMSSS,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": locations,
        },
        metadata,
        _element("organizations", {"default": "org"}, organization),
        _resources(units, "adlcp:scormType"),
    )
    return _document(root)


def _text(tag: str, text: str) -> str:
    return _element(tag, None, _element("langstring", {"lang": LANGUAGE}, text=text))


def _au(module: Module, unit: PackageUnit, description: str) -> str:
    attributes = {"id": unit.activity_id}
    if unit.kind is UnitKind.TEST:
        attributes |= {"moveOn": "Passed", "masteryScore": _mastery_decimal(module)}
    else:
        attributes["moveOn"] = "Completed"
    # AnyWindow: the LMS may frame the AU or open it; the AU returns through LaunchData's returnURL either way.
    attributes["launchMethod"] = "AnyWindow"
    return _element(
        "au", attributes, _text("title", unit.title), _text("description", description), _element("url", text=unit.href)
    )


def _description(module: Module, unit: PackageUnit) -> str:
    if unit.kind is UnitKind.LESSON:
        lesson = module.lesson(unit.id)
        return lesson.tagline if lesson else unit.title
    if unit.kind is UnitKind.LAB:
        lab = module.lab(unit.id)
        return lab.goal if lab else unit.title
    assessment = module.assessment(unit.id)
    return (assessment.subtitle if assessment else None) or unit.title


def _grouped(units: Iterable[PackageUnit]) -> list[tuple[str | None, list[PackageUnit]]]:
    groups: list[tuple[str | None, list[PackageUnit]]] = []
    for unit in units:
        if groups and groups[-1][0] == unit.lesson_id and unit.lesson_id is not None:
            groups[-1][1].append(unit)
        else:
            groups.append((unit.lesson_id, [unit]))
    return groups


def cmi5_course_structure(module: Module, units: Sequence[PackageUnit], course_id: str) -> bytes:
    parts = []
    for lesson_id, members in _grouped(units):
        lesson = module.lesson(lesson_id) if lesson_id else None
        aus = [_au(module, unit, _description(module, unit)) for unit in members]
        if lesson is None:
            parts += aus
            continue
        parts.append(
            _element(
                "block",
                {"id": f"{course_id}/blocks/{lesson.id}"},
                _text("title", f"Lesson {lesson.number}: {lesson.title}"),
                _text("description", lesson.tagline),
                *aus,
            )
        )
    course = _element("course", {"id": course_id}, _text("title", module.title), _text("description", module.summary))
    return _document(_element("courseStructure", {"xmlns": CMI5}, course, *parts))
