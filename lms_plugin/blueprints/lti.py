"""LTI endpoints: OIDC login initiation, the launch, its Platform Storage confirmation, the tool's JWKS."""

from flask import Blueprint, Response, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from lms_plugin import wiring
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.keys import ToolKeyService
from lms_plugin.lti.login import LOGIN_PARAMS, LoginRequest, LoginService
from lms_plugin.services.launches import CompletedDeepLink, CompletedLaunch, LaunchService, StorageCheck

blueprint = Blueprint("lti", __name__, url_prefix="/lti")
STATE_COOKIE_MAX_AGE = 600


def _student_url(launch: CompletedLaunch | CompletedDeepLink) -> str:
    if isinstance(launch, CompletedDeepLink):  # an instructor adding the tool to a course: the picker
        return url_for("deep_linking.picker", dl=launch.token)
    if launch.context.is_instructor:
        return url_for("instructor.dashboard", s=launch.token)
    return url_for("student.unit", unit=launch.unit, s=launch.token)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    params = request.values
    login_request = LoginRequest(
        **{name: params.get(name) or None for name in LOGIN_PARAMS},  # type: ignore[arg-type]
        storage_target=params.get("lti_storage_target") or None,
        new_window=params.get("tracebook_window") == "new",
    )
    start = wiring.committing_refusal(
        lambda session: LoginService(
            session, wiring.platform_directory(), wiring.settings().base_url, wiring.clock().now()
        ).start(login_request)
    )
    new_window_url = url_for("lti.login", **login_request.params(), tracebook_window="new")
    response = make_response(
        render_template(
            "lti/login.html", start=start, new_window_url=new_window_url, new_window=login_request.new_window
        )
    )
    if not start.storage_target:
        # SameSite=None: the launch comes back as a cross-site POST from the LMS.
        response.set_cookie(
            start.cookie_name,
            start.state,
            max_age=STATE_COOKIE_MAX_AGE,
            secure=True,
            httponly=True,
            samesite="None",
            path="/lti/",
        )
    return response


def _launch_service(session):  # type: ignore[no-untyped-def]
    return LaunchService(
        session, wiring.settings(), wiring.clock(), wiring.platform_keys(), wiring.platform_directory(), wiring.module()
    )


@blueprint.post("/launch")
def launch() -> WerkzeugResponse | str:
    outcome = wiring.committing_refusal(lambda s: _launch_service(s).launch(request.form, request.cookies))
    if not isinstance(outcome, StorageCheck):
        response = redirect(_student_url(outcome), code=303)
        response.headers["X-Tracebook-State-Check"] = outcome.state_check
        response.delete_cookie(f"tb_state_{request.form.get('state')}", path="/lti/", secure=True, samesite="None")
        return response
    return render_template("lti/storage_check.html", check=outcome)


@blueprint.post("/launch/confirm")
def confirm() -> Response:
    data = request.get_json(silent=True) or {}
    if not isinstance(data.get("handle"), str):
        raise LaunchRefusedError("The launch confirmation is incomplete.", "Open the activity again from your course.")
    outcome = wiring.committing_refusal(lambda s: _launch_service(s).confirm(data["handle"], data.get("state")))
    return jsonify(redirect=_student_url(outcome), state_check=outcome.state_check)


@blueprint.get("/jwks.json")
def jwks() -> Response:
    with wiring.transaction() as session:
        keys = ToolKeyService(session, wiring.clock().now()).jwks()
    response = jsonify(keys)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
