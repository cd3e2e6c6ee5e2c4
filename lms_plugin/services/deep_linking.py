"""Placing the module in a course by deep linking: what an instructor can place, the picker's signed token, and
the signed answer the browser carries back to the platform.

The picker needs no database session: the validated request travels in a signed, expiring token (like the
launch's Platform Storage handle), so a deep-linking launch creates no learner, course or placement rows —
placements come into being when the platform launches the links it created.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from content import Module, UnitKind
from lms_plugin.lti.context import WHOLE_MODULE
from lms_plugin.lti.deep_linking import DeepLinkRequest, ResourceLink, response_claims, sign_response
from lms_plugin.lti.errors import DeepLinkChoiceError, SessionExpiredError
from lms_plugin.lti.keys import ToolKeyService

TAG = "tracebook"  # the line items' tag, as the gradebook sync names them (lms_plugin/grades/sync.py)


@dataclass(frozen=True)
class Placeable:
    """A choice on the picker."""

    kind: str  # module, lesson, quiz, lab, test
    link: ResourceLink

    @property
    def graded(self) -> bool:
        return self.link.score_maximum is not None


@dataclass(frozen=True)
class DeepLinkAnswer:
    """The signed response and where the browser posts it."""

    return_url: str
    jwt: str
    count: int


def placeables(module: Module) -> list[Placeable]:
    """The whole module, then every unit in course order. Graded: the quizzes and the test by their question
    counts, and the whole module by its test's score, as the gradebook sync scores them."""

    def link(unit: str, title: str, score_maximum: int | None) -> ResourceLink:
        graded = score_maximum is not None
        return ResourceLink(
            unit=unit,
            title=title,
            score_maximum=score_maximum,
            resource_id=f"{module.id}/{unit}" if graded else None,
            tag=TAG if graded else None,
        )

    found = [
        Placeable("module", link(WHOLE_MODULE, f"Module {module.number}: {module.title}", len(module.test.questions)))
    ]
    for unit in module.units:
        assessment = module.assessment(unit.id) if unit.kind in (UnitKind.QUIZ, UnitKind.TEST) else None
        score_maximum = len(assessment.questions) if assessment is not None else None
        found.append(Placeable(str(unit.kind), link(unit.id, module.title_of(unit.id), score_maximum)))
    return found


class DeepLinkingService:
    def __init__(self, secret_key: str, module: Module, now: datetime, lifetime: timedelta) -> None:
        # The expiry is checked against the injectable clock; the signature stops forgery.
        self.signer = URLSafeSerializer(secret_key, salt="tracebook-deep-link")
        self.module = module
        self.now = now
        self.lifetime = lifetime

    def open(self, request: DeepLinkRequest) -> str:
        """The picker's token for a validated request."""
        expires = int((self.now + self.lifetime).timestamp())
        return self.signer.dumps({"request": request.to_json(), "expires": expires})

    def resolve(self, token: str | None) -> DeepLinkRequest:
        if not token:
            raise SessionExpiredError("no deep-linking token")
        try:
            data = self.signer.loads(token)
        except BadSignature as error:
            raise SessionExpiredError("the deep-linking token is not ours") from error
        if data["expires"] <= self.now.timestamp():
            raise SessionExpiredError("the deep-linking token has expired")
        return DeepLinkRequest.from_json(data["request"])

    def placeables(self) -> list[Placeable]:
        return placeables(self.module)

    def answer(
        self, session: Session, request: DeepLinkRequest, units: Sequence[str], launch_url: str
    ) -> DeepLinkAnswer:
        """Sign the response for the chosen units, in the picker's order."""
        by_unit = {p.link.unit: p.link for p in self.placeables()}
        unknown = [unit for unit in units if unit not in by_unit]
        if unknown:
            raise DeepLinkChoiceError(f"The module has no {', '.join(unknown)}: pick from the list.")
        if not units:
            raise DeepLinkChoiceError("Pick at least one activity to add to the course.")
        if len(set(units)) > 1 and not request.accept_multiple:
            raise DeepLinkChoiceError("This course accepts one activity at a time here: pick one, then add the next.")
        chosen = [link for unit, link in by_unit.items() if unit in set(units)]
        key = ToolKeyService(session, self.now).current()
        token = sign_response(response_claims(request, chosen, launch_url, self.now), key)
        return DeepLinkAnswer(return_url=request.return_url, jwt=token, count=len(chosen))
