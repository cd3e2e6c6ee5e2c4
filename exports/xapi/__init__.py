"""xAPI 1.0.3 statements (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md): the activity-id scheme
shared with the SCORM and cmi5 exports, the statement builders and the checks of what they build."""

from exports.xapi.ids import ActivityIds, ActivityType, Extension, Verb
from exports.xapi.statements import Learner, Statements, Where, statement_id
from exports.xapi.validation import problems

__all__ = [
    "ActivityIds",
    "ActivityType",
    "Extension",
    "Learner",
    "Statements",
    "Verb",
    "Where",
    "problems",
    "statement_id",
]
