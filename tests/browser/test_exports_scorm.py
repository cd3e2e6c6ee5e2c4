"""The SCORM 1.2 and 2004 packages played in scorm-again (npm) inside headless Chromium, as an LMS plays them
(issue 7): what each SCO commits — statuses, score, one interaction per answer, session time, resume data — is
read from the commits the runtime sent to the host, not from the page."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from content import Module, load_default_module
from exports.packages import PackageFormat
from tests.exports_lms.learner import (
    answer_test,
    option,
    player_page,
    read_lesson,
    submit_test,
    take_quiz,
    unzipped_package,
)
from tests.exports_lms.scorm_host import Commit, ScormHost, Version, interactions

FORMATS: dict[Version, PackageFormat] = {"1.2": PackageFormat.SCORM12, "2004": PackageFormat.SCORM2004}
SUSPEND_DATA_LIMIT = 4096  # SCORM 1.2 RTE §3.4.2: cmi.suspend_data is a CMIString4096


class Cmi:
    """The names of the same facts in each version's data model."""

    def __init__(self, version: Version) -> None:
        self.version = version
        core = "cmi.core." if version == "1.2" else "cmi."
        self.completion = "cmi.core.lesson_status" if version == "1.2" else "cmi.completion_status"
        self.success = "cmi.core.lesson_status" if version == "1.2" else "cmi.success_status"
        self.raw, self.min, self.max = (f"{core}score.{name}" for name in ("raw", "min", "max"))
        self.exit = f"{core}exit"
        self.entry = f"{core}entry"
        self.session_time = f"{core}session_time"
        self.location = "cmi.core.lesson_location" if version == "1.2" else "cmi.location"
        self.response = "student_response" if version == "1.2" else "learner_response"
        self.wrong = "wrong" if version == "1.2" else "incorrect"

    def score(self, cmi: dict[str, Any]) -> float:
        """The score as a fraction of the range, from raw/min/max (and equal to scaled in 2004)."""
        low, high = float(cmi[self.min]), float(cmi[self.max])
        fraction = (float(cmi[self.raw]) - low) / (high - low)
        if self.version == "2004":
            assert float(cmi["cmi.score.scaled"]) == pytest.approx(fraction, abs=0.005)
        return fraction

    def session_time_pattern(self) -> re.Pattern[str]:
        if self.version == "1.2":
            return re.compile(r"^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$")  # CMITimespan
        return re.compile(r"^P(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$")


@pytest.fixture(scope="module")
def module() -> Module:
    return load_default_module()


@pytest.fixture(scope="module")
def packages(module: Module, tmp_path_factory: pytest.TempPathFactory) -> dict[Version, Path]:
    return {
        version: unzipped_package(module, package_format, tmp_path_factory.mktemp(f"scorm-{version}"))
        for version, package_format in FORMATS.items()
    }


@pytest.fixture(params=["1.2", "2004"])
def host(request: pytest.FixtureRequest, packages: dict[Version, Path]) -> Iterator[ScormHost]:
    version: Version = request.param
    with ScormHost(packages[version], version).running() as running:
        yield running


@pytest.fixture
def player(blocking_browser: BrowserContext) -> Iterator[Page]:
    yield from player_page(blocking_browser)


def _no_runtime_errors(page: Page) -> None:
    assert page.evaluate("window.hostErrors") == [], "scorm-again refused a call"


def test_a_lesson_read_to_the_end_is_completed(host: ScormHost, player: Page) -> None:
    names, sco = Cmi(host.version), host.sco("units/lesson-1.html")
    read_lesson(host.open(player, sco))
    _no_runtime_errors(player)
    host.leave(player)

    cmi = host.finished(sco)
    assert cmi[names.completion] == "completed"
    assert names.session_time_pattern().match(cmi[names.session_time])


def test_a_quiz_reports_one_interaction_per_answer_and_the_score(host: ScormHost, player: Page, module: Module) -> None:
    names, sco, quiz = Cmi(host.version), host.sco("units/quiz-1.html"), module.quizzes[0]
    right = [True, False, True, True]
    chosen = take_quiz(host.open(player, sco), quiz.questions, right)
    _no_runtime_errors(player)
    host.leave(player)

    cmi = host.finished(sco)
    assert cmi[names.completion] == "completed"
    assert names.score(cmi) == pytest.approx(0.75)
    answers = interactions(cmi)
    assert [row["id"] for row in answers] == [question.id for question in quiz.questions]
    assert [row[names.response] for row in answers] == chosen
    assert [row["result"] for row in answers] == ["correct" if ok else names.wrong for ok in right]
    assert [row["correct_responses.0.pattern"] for row in answers] == [
        option(question, correct=True) for question in quiz.questions
    ]
    assert {row["type"] for row in answers} == {"choice"}
    if host.version == "2004":
        assert all(re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", row["timestamp"]) for row in answers)


def test_the_module_test_fails_then_passes(host: ScormHost, player: Page, module: Module) -> None:
    names, sco, questions = Cmi(host.version), host.sco("units/module-test.html"), module.test.questions
    frame = host.open(player, sco)
    first = answer_test(frame, questions, right=11)  # 11/15 is below 80 %
    submit_test(frame, passed=False)
    # The verdict is committed when it is given, not only when the learner leaves.
    failed = host.wait_for(sco, lambda commits: any(c.cmi.get(names.success) == "failed" for c in commits))
    at_failure = next(commit.cmi for commit in failed if commit.cmi.get(names.success) == "failed")
    assert names.score(at_failure) == pytest.approx(11 / 15, abs=0.005)
    assert [row[names.response] for row in interactions(at_failure)] == first

    frame.locator("#retake").click()
    second = answer_test(frame, questions, right=12)  # 12/15 is exactly 80 %
    submit_test(frame, passed=True)
    _no_runtime_errors(player)
    host.leave(player)

    cmi = host.finished(sco)
    assert _statuses(host.commits[("ada", sco.item)], names.success) == ["failed", "passed"]
    assert names.score(cmi) == pytest.approx(0.8)
    if host.version == "2004":
        assert cmi["cmi.completion_status"] == "completed"
        assert cmi["cmi.scaled_passing_score"] == "0.8"  # from the manifest's minNormalizedMeasure
    else:
        assert cmi["cmi.student_data.mastery_score"] == "80"  # from the manifest's adlcp:masteryscore
    answers = interactions(cmi)
    assert [row["id"] for row in answers] == [question.id for question in questions] * 2
    assert [row[names.response] for row in answers] == first + second
    assert [row["result"] for row in answers[15:]] == ["correct"] * 12 + [names.wrong] * 3
    assert names.session_time_pattern().match(cmi[names.session_time])


def _statuses(commits: list[Commit], name: str) -> list[str]:
    """The distinct values a status took over the commits, in order (repeats and "unknown" left out)."""
    seen: list[str] = []
    for commit in commits:
        value = commit.cmi.get(name)
        if value in ("passed", "failed") and (not seen or seen[-1] != value):
            seen.append(value)
    return seen


def test_leaving_mid_test_resumes_with_the_answers_given(host: ScormHost, player: Page, module: Module) -> None:
    names, sco, questions = Cmi(host.version), host.sco("units/module-test.html"), module.test.questions
    frame = host.open(player, sco)
    before = answer_test(frame, questions[:5], right=3)
    host.leave(player)

    suspended = host.finished(sco)
    assert suspended[names.exit] == "suspend"
    assert suspended["cmi.suspend_data"] != ""
    assert suspended[names.success] not in ("passed", "failed")
    if host.version == "2004":
        assert suspended["cmi.location"] in ("5", questions[5].id)  # the first unanswered question

    frame = host.open(player, sco)
    for question, chosen in zip(questions, before, strict=False):
        expect(frame.locator(f"input[name='q-{question.id}'][value='{chosen}']")).to_be_checked()
    after = answer_test(frame, questions, right=15, start=5)
    submit_test(frame, passed=True)  # 3 + 10 right: 13/15
    _no_runtime_errors(player)
    host.leave(player)

    cmi = host.finished(sco, sessions=2)
    assert cmi[names.entry] == "resume"
    assert cmi[names.success] == "passed"
    assert names.score(cmi) == pytest.approx(13 / 15, abs=0.005)
    assert [row[names.response] for row in interactions(cmi)] == before + after
    assert cmi[names.exit] != "suspend"


def test_a_lab_self_check_is_completed_when_every_check_is_opened(host: ScormHost, player: Page) -> None:
    names, sco = Cmi(host.version), host.sco("units/lab-1.html")
    frame = host.open(player, sco)
    checks = frame.locator("details.check")
    assert checks.count() > 0
    for check in checks.all():
        check.locator("summary").click()
    _no_runtime_errors(player)
    host.leave(player)

    assert host.finished(sco)[names.completion] == "completed"


def test_scorm12_suspend_data_stays_under_the_limit_after_answering_everything(
    packages: dict[Version, Path], player: Page, module: Module
) -> None:
    questions = module.test.questions
    with ScormHost(packages["1.2"], "1.2").running() as host:
        sco = host.sco("units/module-test.html")
        frame = host.open(player, sco)
        for _ in range(2):  # two failed attempts of every question, then a third one answered in full
            answer_test(frame, questions, right=0)
            submit_test(frame, passed=False)
            frame.locator("#retake").click()
        last = answer_test(frame, questions, right=11)
        host.leave(player)

        host.finished(sco)
        lengths = [len(commit.cmi["cmi.suspend_data"]) for commit in host.commits[("ada", sco.item)]]
        assert max(lengths) < SUSPEND_DATA_LIMIT, lengths

        frame = host.open(player, sco)
        for question, chosen in zip(questions, last, strict=True):
            expect(frame.locator(f"input[name='q-{question.id}'][value='{chosen}']")).to_be_checked()
        _no_runtime_errors(player)


def test_scorm2004_continue_delivers_the_next_unit_in_module_order(packages: dict[Version, Path], player: Page) -> None:
    with ScormHost(packages["2004"], "2004").running() as host:
        first, following = host.scos[0], host.scos[1]
        frame = host.open(player, first)
        read_lesson(frame)
        frame.locator("#nav-continue").click()

        player.wait_for_url(host.launch_url(following))
        frame = player.frame(name="sco")
        assert frame is not None
        frame.wait_for_url(f"{host.base}/package/{following.href}")
        assert host.finished(first)["cmi.completion_status"] == "completed"
