"""Errors raised while loading content, written for the instructional designer who edits the files."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong in one content file: which file, which field, and what is wrong."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class ContentError(Exception):
    """The content could not be loaded; ``problems`` lists everything found, not just the first."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
