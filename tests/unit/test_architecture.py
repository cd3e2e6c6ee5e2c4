"""The import rules of ARCHITECTURE.md, enforced by parsing every module's imports.

- ``assessments``, ``labs`` and ``exports`` may import ``content``; ``exports`` may import ``assessments`` and
  ``labs``; ``lms_plugin`` may import everything; nothing imports ``lms_plugin``.
- Only ``lms_plugin`` imports flask or pylti1p3; only ``labs`` imports openai; only ``exports`` imports tincan
  and weasyprint.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("content", "assessments", "labs", "exports", "lms_plugin")
MAY_IMPORT = {
    "content": set(),
    "assessments": {"content"},
    "labs": {"content"},
    "exports": {"content", "assessments", "labs"},
    "lms_plugin": {"content", "assessments", "labs", "exports"},
}
OWNED_LIBRARIES = {
    "flask": "lms_plugin",
    "werkzeug": "lms_plugin",
    "pylti1p3": "lms_plugin",
    "openai": "labs",
    "tincan": "exports",
    "weasyprint": "exports",
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    imported: str
    rule: str


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def find_violations(root: Path) -> list[Finding]:
    findings = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
                top = name.split(".")[0]
                where = str(path.relative_to(root))
                if top in PACKAGES and top != package and top not in MAY_IMPORT[package]:
                    findings.append(Finding(where, line, name, f"{package} may not import {top}"))
                owner = OWNED_LIBRARIES.get(top)
                if owner is not None and owner != package:
                    findings.append(Finding(where, line, name, f"only {owner} may import {top}"))
    return findings


def test_the_codebase_follows_every_import_rule() -> None:
    assert find_violations(ROOT) == []


def test_the_check_finds_a_planted_violation(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "assessments" / "fine.py").write_text("from content.model import Question\nimport fractions\n")
    (tmp_path / "content" / "bad.py").write_text("import flask\nfrom lms_plugin.db import Database\n")
    (tmp_path / "labs" / "sneaky.py").write_text("def f():\n    from exports import xapi\n    import weasyprint\n")
    (tmp_path / "exports" / "allowed.py").write_text(
        "import tincan\nimport weasyprint\nfrom content import Module\nfrom assessments import scoring\nimport labs\n"
    )
    (tmp_path / "exports" / "leaky.py").write_text("from lms_plugin.models import Learner\nimport flask\n")

    found = {(f.file, f.line, f.rule) for f in find_violations(tmp_path)}

    assert found == {
        ("content/bad.py", 1, "only lms_plugin may import flask"),
        ("content/bad.py", 2, "content may not import lms_plugin"),
        ("labs/sneaky.py", 2, "labs may not import exports"),
        ("labs/sneaky.py", 3, "only exports may import weasyprint"),
        ("exports/leaky.py", 1, "exports may not import lms_plugin"),
        ("exports/leaky.py", 2, "only lms_plugin may import flask"),
    }
