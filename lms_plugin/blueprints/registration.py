"""LTI Dynamic Registration (``/lti/register``) and the Canvas developer-key JSON (``/lti/config/canvas.json``)."""

from flask import Blueprint, Response, jsonify, render_template, request

from lms_plugin import wiring
from lms_plugin.lti.errors import RegistrationRefusedError
from lms_plugin.lti.registration import (
    LINK_PARAMETER,
    DynamicRegistrationService,
    RegistrationRequest,
    RequestsRegistrationHttp,
    ToolConfiguration,
)

blueprint = Blueprint("registration", __name__, url_prefix="/lti")


def _tool() -> ToolConfiguration:
    module = wiring.module()
    return ToolConfiguration(
        base_url=wiring.settings().base_url,
        description=f"Module {module.number}: {module.title} — lessons, quizzes, AI chat labs and a module test.",
    )


@blueprint.errorhandler(RegistrationRefusedError)
def _refused(error: RegistrationRefusedError) -> tuple[str, int]:
    return render_template("lti/registration_refused.html", error=error), error.status


@blueprint.get("/register")
def register() -> str:
    service = DynamicRegistrationService(
        wiring.transaction,
        wiring.clock(),
        _tool(),
        RequestsRegistrationHttp(),
        https_only=wiring.settings().is_production,
    )
    registered = service.register(
        RegistrationRequest(
            link=request.args.get(LINK_PARAMETER),
            openid_configuration=request.args.get("openid_configuration"),
            registration_token=request.args.get("registration_token"),
        )
    )
    return render_template("lti/registered.html", registered=registered)


@blueprint.get("/config/canvas.json")
def canvas_json() -> Response:
    return jsonify(_tool().canvas_developer_key())
