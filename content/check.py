"""``tracebook content check``: load the module and summarise it, or list every problem."""

from dataclasses import dataclass
from pathlib import Path

from content.errors import ContentError, ContentProblem
from content.loader import load_module


@dataclass(frozen=True)
class CheckReport:
    lessons: int = 0
    quiz_questions: int = 0
    test_questions: int = 0
    labs: int = 0
    problems: tuple[ContentProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.ok:
            lines.append(
                f"{self.lessons} lessons, {self.quiz_questions} quiz questions, "
                f"{self.test_questions} test questions, {self.labs} labs"
            )
        lines.append(f"{len(self.problems)} errors")
        return "\n".join(lines)


def check_module(root: Path) -> CheckReport:
    try:
        module = load_module(root)
    except ContentError as error:
        return CheckReport(problems=tuple(error.problems))
    return CheckReport(
        lessons=len(module.lessons),
        quiz_questions=module.question_count,
        test_questions=len(module.test.questions),
        labs=len(module.labs),
    )
