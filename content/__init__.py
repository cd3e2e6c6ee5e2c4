"""The module *Tracing LLM Calls* as data: frozen dataclasses loaded from the files under ``modules/``.

Every channel — the LTI pages, xAPI statements, SCORM/cmi5 packages and certificates — renders from these
objects, so lesson text exists exactly once.
"""

from content.errors import ContentError, ContentProblem
from content.loader import DEFAULT_MODULE_DIR, load_default_module, load_module
from content.model import (
    Assessment,
    AssessmentKind,
    Concept,
    Correction,
    Criterion,
    Feedback,
    Lab,
    Lesson,
    Module,
    ModuleSettings,
    Option,
    Question,
    ReviewPolicy,
    RubricItem,
    Scenario,
    ShowCorrectAnswers,
    SpanEvent,
    Trace,
    TraceSpan,
    Unit,
    UnitKind,
    WalkStep,
)

__all__ = [
    "DEFAULT_MODULE_DIR",
    "Assessment",
    "AssessmentKind",
    "Concept",
    "ContentError",
    "ContentProblem",
    "Correction",
    "Criterion",
    "Feedback",
    "Lab",
    "Lesson",
    "Module",
    "ModuleSettings",
    "Option",
    "Question",
    "ReviewPolicy",
    "RubricItem",
    "Scenario",
    "ShowCorrectAnswers",
    "SpanEvent",
    "Trace",
    "TraceSpan",
    "Unit",
    "UnitKind",
    "WalkStep",
    "load_default_module",
    "load_module",
]
