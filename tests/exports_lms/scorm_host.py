"""A SCORM host for the browser tests: an unzipped package played in scorm-again (npm), as an LMS plays it.

The server on 127.0.0.1 reads the package's ``imsmanifest.xml`` the way an LMS does (the organization's items in
order, each item's resource ``href``, the 1.2 ``adlcp:masteryscore`` and the 2004 primary objective's
``minNormalizedMeasure``), serves the package under ``/package/``, and for each SCO launch serves a host page
that creates ``window.API`` (1.2) or ``window.API_1484_11`` (2004) from scorm-again and loads the SCO in an
iframe of the same origin, where the SCO finds it by walking ``window.parent`` (the ADL discovery algorithm).

Every commit scorm-again sends (LMSCommit/Commit, and the one LMSFinish/Terminate makes) is recorded as flattened
CMI (``{"cmi.core.lesson_status": "passed", …}``). A relaunch hands back what an LMS keeps between sessions
(SCORM 1.2 RTE §3.4.4, SCORM 2004 RTE §4.2): the suspend data, location, status and score, ``entry`` "resume" after
an exit "suspend"; in 2004 an exit other than "suspend" ends the attempt and the next launch starts a new one.
"""

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from playwright.sync_api import Frame, Page

from tests.exports_lms.loopback import Request, Response, file_response, json_response, serve

ROOT = Path(__file__).resolve().parents[2]
SCORM_AGAIN = ROOT / "node_modules" / "scorm-again" / "dist"
STATIC = Path(__file__).with_name("static")
Version = Literal["1.2", "2004"]
ADLCP_12 = "{http://www.adlnet.org/xsd/adlcp_rootv1p2}"
IMSSS = "{http://www.imsglobal.org/xsd/imsss}"
LEARNER_NAMES = {"ada": "Lovelace, Ada", "grace": "Hopper, Grace"}
# scorm-again marks the commit LMSFinish/Terminate sends (by sendBeacon, so it may land after the page moved on).
FINAL_MARK = "finalCommit"
WAIT_SECONDS = 10.0

# What the LMS keeps from one session for the next, by version (SCORM 2004 also keeps the interactions).
KEPT_12 = ("cmi.core.lesson_status", "cmi.core.lesson_location", "cmi.core.score.raw", "cmi.core.score.min")
KEPT_12 += ("cmi.core.score.max", "cmi.suspend_data")
KEPT_2004 = ("cmi.completion_status", "cmi.success_status", "cmi.location", "cmi.suspend_data", "cmi.score.scaled")
KEPT_2004 += ("cmi.score.raw", "cmi.score.min", "cmi.score.max")


@dataclass(frozen=True)
class Commit:
    cmi: dict[str, Any]  # flattened CMI: {"cmi.core.lesson_status": "passed", …}
    final: bool  # sent by LMSFinish / Terminate


@dataclass(frozen=True)
class Sco:
    """One item of the organization that launches a resource."""

    item: str
    title: str
    href: str
    mastery_score: str | None  # 1.2 adlcp:masteryscore (0–100)
    scaled_passing_score: str | None  # 2004: the primary objective's minNormalizedMeasure when satisfied by measure


def read_manifest(manifest: bytes) -> list[Sco]:
    """The SCOs of the default organization, in the order the learner meets them."""
    root = ET.fromstring(manifest)
    resources = {
        resource.get("identifier"): resource.get("href", "") for resource in root.iter() if _tag(resource) == "resource"
    }
    organizations = next(element for element in root if _tag(element) == "organizations")
    default = organizations.get("default")
    organization = next(
        element
        for element in organizations
        if _tag(element) == "organization" and default in (None, element.get("identifier"))
    )
    found = []
    for item in organization.iter():
        if _tag(item) != "item" or item.get("identifierref") is None:
            continue
        primary = item.find(f"{IMSSS}sequencing/{IMSSS}objectives/{IMSSS}primaryObjective")
        measure = None
        if primary is not None and primary.get("satisfiedByMeasure") == "true":
            measure = primary.findtext(f"{IMSSS}minNormalizedMeasure")
        found.append(
            Sco(
                item=str(item.get("identifier")),
                title=(item.findtext("{*}title") or "").strip(),
                href=resources[item.get("identifierref")],
                mastery_score=item.findtext(f"{ADLCP_12}masteryscore"),
                scaled_passing_score=measure,
            )
        )
    return found


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


class ScormHost:
    """Plays one unzipped package; ``commits[(learner, item)]`` holds what each SCO committed, in order."""

    def __init__(self, package: Path, version: Version) -> None:
        if not (SCORM_AGAIN / "scorm12.min.js").is_file():
            raise RuntimeError(f"{SCORM_AGAIN} is missing: run `npm ci` in {ROOT} (make test does).")
        self.package = package
        self.version = version
        self.scos = read_manifest((package / "imsmanifest.xml").read_bytes())
        self.commits: dict[tuple[str, str], list[Commit]] = {}
        self._arrived = threading.Condition()
        self.base = ""

    @contextmanager
    def running(self) -> Iterator["ScormHost"]:
        with serve(self._handle) as port:
            self.base = f"http://127.0.0.1:{port}"
            yield self

    def sco(self, href_or_item: str) -> Sco:
        """The SCO whose item identifier is given, or whose resource is e.g. ``units/quiz-1.html``."""
        return next(sco for sco in self.scos if href_or_item in (sco.item, sco.href))

    def launch_url(self, sco: Sco, learner: str = "ada") -> str:
        return f"{self.base}/launch/{quote(learner)}/{quote(sco.item)}"

    def open(self, page: Page, sco: Sco, learner: str = "ada") -> Frame:
        """Launches the SCO in the page as the LMS does; returns the SCO's frame once its page has loaded."""
        page.goto(self.launch_url(sco, learner))
        frame = page.frame(name="sco")
        assert frame is not None, "the host page has no SCO frame"
        frame.wait_for_url(f"{self.base}/package/{sco.href}")
        frame.wait_for_load_state()
        return frame

    def leave(self, page: Page) -> None:
        """The learner goes back to the course: the SCO's page unloads, and with it the session ends."""
        page.goto(f"{self.base}/returned")

    def wait_for(self, sco: Sco, condition: Callable[[list[Commit]], bool], learner: str = "ada") -> list[Commit]:
        """The SCO's commits once ``condition`` holds for them; fails after a few seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: condition(self.commits.get((learner, sco.item), [])), WAIT_SECONDS):
                found = self.commits.get((learner, sco.item), [])
                raise AssertionError(f"{sco.href}: {len(found)} commits from {learner}, still not what was awaited")
            return list(self.commits[(learner, sco.item)])

    def finished(self, sco: Sco, sessions: int = 1, learner: str = "ada") -> dict[str, Any]:
        """The CMI data as the LMS holds it once ``sessions`` sessions of the SCO have ended (LMSFinish/Terminate)."""
        commits = self.wait_for(sco, lambda found: sum(commit.final for commit in found) >= sessions, learner)
        return commits[-1].cmi

    def _handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[0] == "package":
            return file_response(self.package, "/".join(parts[1:]))
        if parts[0] == "vendor" and len(parts) == 2:
            return file_response(SCORM_AGAIN, parts[1])
        if request.path == "/host.js":
            return file_response(STATIC, "host.js")
        if parts[0] == "launch" and len(parts) == 3:
            return self._host_page(parts[1], self.sco(parts[2]))
        if parts[0] == "commit" and len(parts) == 3 and request.method == "POST":
            cmi = request.json()
            commit = Commit(cmi=cmi, final=bool(cmi.pop(FINAL_MARK, False)))
            with self._arrived:
                self.commits.setdefault((parts[1], parts[2]), []).append(commit)
                self._arrived.notify_all()
            return json_response({"result": True, "errorCode": 0})
        if request.path == "/returned":
            return Response(200, b"<!doctype html><title>Course</title><p>Back in the course.</p>", _HTML)
        if request.path == "/favicon.ico":
            return Response(204)
        return Response(404, b"not found", {"Content-Type": "text/plain"})

    def _host_page(self, learner: str, sco: Sco) -> Response:
        position = self.scos.index(sco)
        neighbours = {
            "next": self.scos[position + 1] if position + 1 < len(self.scos) else None,
            "previous": self.scos[position - 1] if position > 0 else None,
        }
        config = {
            "version": self.version,
            "commitUrl": f"{self.base}/commit/{quote(learner)}/{quote(sco.item)}",
            "scoUrl": f"{self.base}/package/{sco.href}",
            "launchData": self._launch_data(learner, sco),
            **{name: self.launch_url(other, learner) if other else None for name, other in neighbours.items()},
        }
        # "</" cannot end the JSON early inside the script element.
        embedded = json.dumps(config).replace("</", "<\\/")
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{sco.title} — test LMS</title>
<script type="application/json" id="host-config">{embedded}</script>
<script src="/vendor/{"scorm12" if self.version == "1.2" else "scorm2004"}.min.js"></script>
<script src="/host.js" defer></script></head>
<body><iframe id="sco" name="sco" title="{sco.title}" style="width:100%;height:95vh;border:0"></iframe></body></html>"""
        return Response(200, page.encode("utf-8"), _HTML)

    def _launch_data(self, learner: str, sco: Sco) -> dict[str, str]:
        previous = self.commits.get((learner, sco.item), [])
        last = previous[-1].cmi if previous else {}
        if self.version == "1.2":
            data = {"cmi.core.student_id": learner, "cmi.core.student_name": LEARNER_NAMES.get(learner, learner)}
            if sco.mastery_score is not None:
                data["cmi.student_data.mastery_score"] = sco.mastery_score
            data["cmi.core.entry"] = "ab-initio" if not last else _resume(last.get("cmi.core.exit"))
            return data | {name: str(last[name]) for name in KEPT_12 if last.get(name) not in (None, "")}
        data = {"cmi.learner_id": learner, "cmi.learner_name": LEARNER_NAMES.get(learner, learner)}
        if sco.scaled_passing_score is not None:
            data["cmi.scaled_passing_score"] = sco.scaled_passing_score
        if last.get("cmi.exit") != "suspend":
            return data | {"cmi.entry": "ab-initio"}  # no attempt, or the last one ended: a new attempt
        kept = {name: str(last[name]) for name in KEPT_2004 if last.get(name) not in (None, "")}
        kept |= {name: str(value) for name, value in last.items() if name.startswith("cmi.interactions.")}
        return data | kept | {"cmi.entry": "resume"}


def _resume(exit_value: object) -> str:
    return "resume" if exit_value == "suspend" else ""


def interactions(cmi: dict[str, Any]) -> list[dict[str, str]]:
    """Flattened ``cmi.interactions.n.<rest>`` entries grouped by n, in order."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in cmi.items():
        if name.startswith("cmi.interactions.") and name.split(".")[2].isdigit():
            index, rest = name.split(".", 3)[2:]
            rows.setdefault(int(index), {})[rest] = str(value)
    return [rows[index] for index in sorted(rows)]


_HTML = {"Content-Type": "text/html; charset=utf-8"}
