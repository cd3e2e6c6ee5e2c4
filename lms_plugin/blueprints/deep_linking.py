"""Deep linking (LTI Deep Linking 2.0): the instructor's picker, and the page that carries the tool's signed
answer back to the platform. The validated request travels in the signed ``dl`` token (no cookie)."""

from datetime import timedelta

from flask import Blueprint, render_template, request

from lms_plugin import wiring
from lms_plugin.lti.deep_linking import DeepLinkRequest
from lms_plugin.lti.errors import DeepLinkChoiceError
from lms_plugin.services.deep_linking import DeepLinkingService

blueprint = Blueprint("deep_linking", __name__, url_prefix="/lti/deep-link")


def _service() -> DeepLinkingService:
    settings = wiring.settings()
    return DeepLinkingService(
        settings.secret_key, wiring.module(), wiring.clock().now(), timedelta(seconds=settings.session_lifetime)
    )


def _picker(service: DeepLinkingService, token: str, deep_link: DeepLinkRequest, error: str | None = None) -> str:
    return render_template(
        "deep_linking/picker.html",
        token=token,
        deep_link=deep_link,
        placeables=service.placeables(),
        module=wiring.module(),
        error=error,
    )


@blueprint.get("")
def picker() -> str:
    service = _service()
    token = request.args.get("dl", "")
    return _picker(service, token, service.resolve(token))


@blueprint.post("")
def respond() -> tuple[str, int] | str:
    service = _service()
    token = request.form.get("dl", "")
    deep_link = service.resolve(token)
    try:
        with wiring.transaction() as session:
            answer = service.answer(
                session, deep_link, request.form.getlist("unit"), f"{wiring.settings().base_url}/lti/launch"
            )
    except DeepLinkChoiceError as error:
        return _picker(service, token, deep_link, str(error)), 400
    return render_template("deep_linking/return.html", answer=answer)
