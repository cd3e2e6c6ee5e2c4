"""Voiding statements (xAPI 1.0.3 §2.3.2 "Voided"): how the tool retracts statements it sent, when a learner's
data is erased at their request.

A voiding statement's verb is ``http://adlnet.gov/expapi/verbs/voided`` and its object a ``StatementRef`` to the
statement it voids. Its actor is the tool itself, never the learner: naming the learner again would send the
identity being erased back out. Its id derives from the voided id alone, so voiding twice is one statement.
"""

from datetime import UTC, datetime
from typing import Any

from exports.xapi.ids import Verb
from exports.xapi.statements import statement_id

TOOL_ACCOUNT_NAME = "tracebook"


def voiding_statement_id(voided_id: str) -> str:
    return statement_id("voided", voided_id)


def tool_agent(home_page: str) -> dict[str, Any]:
    """The tool as an xAPI Agent: an account on the tool's own site (§2.4.2.2 Account Object)."""
    return {"objectType": "Agent", "account": {"homePage": home_page, "name": TOOL_ACCOUNT_NAME}}


def voiding_statement(voided_id: str, tool_home_page: str, at: datetime) -> dict[str, Any]:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the time {at.isoformat()} has no zone: pass an aware datetime")
    return {
        "id": voiding_statement_id(voided_id),
        "actor": tool_agent(tool_home_page),
        "verb": {"id": str(Verb.VOIDED), "display": {"en-US": Verb.VOIDED.display}},
        "object": {"objectType": "StatementRef", "id": voided_id},
        "timestamp": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
