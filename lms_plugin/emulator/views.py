"""The emulator's pages and endpoints: pick a person and a placement, launch in an iframe, and answer the
OIDC authorization request with a signed id_token (form_post), as Canvas and Moodle do."""

import threading
from collections import Counter
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from lms_plugin import wiring
from lms_plugin.emulator import deep_linking, dynamic_registration, services
from lms_plugin.emulator.dynamic_registration import platform_or_404
from lms_plugin.emulator.keys import EmulatorKeys
from lms_plugin.emulator.platforms import PEOPLE, PLATFORMS
from lms_plugin.emulator.services import line_item_for_placement
from lms_plugin.emulator.tokens import resource_link_claims, sign

blueprint = Blueprint("emulator", __name__, url_prefix="/emulator")

# How often each platform's JWKS was fetched by this process: the tool's key caching is measured on it.
JWKS_FETCHES: Counter[str] = Counter()
_fetch_lock = threading.Lock()


@blueprint.after_request
def _frame_the_tool(response: Response) -> Response:
    # The course page frames the tool, which lives on another origin.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; frame-src 'self' {wiring.settings().base_url}; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'"
    )
    return response


def _hints() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="emulator-message-hint")


@blueprint.get("/")
def index() -> str:
    module = wiring.module()
    return render_template(
        "emulator/index.html",
        platforms=PLATFORMS.values(),
        people=PEOPLE.values(),
        placements={mode: deep_linking.course_placements(mode) for mode in PLATFORMS},
        module=module,
    )


@blueprint.get("/<mode>/course")
def course(mode: str) -> str:
    """The LMS course page: the tool in a 700 px iframe, plus Canvas's Platform Storage frame."""
    platform = platform_or_404(mode, request.values.get("client_id"))
    settings = wiring.settings()
    person = PEOPLE.get(request.args.get("person", ""))
    placement = deep_linking.find_placement(mode, request.args.get("placement", ""))
    if person is None or placement is None:
        abort(400, description="Pick a person and a placement on the emulator's start page.")
    login = {
        "iss": platform.issuer(settings.emulator_url),
        "login_hint": person.id,
        "target_link_uri": f"{settings.base_url}/lti/launch",
        "lti_message_hint": _hints().dumps({"person": person.id, "placement": placement.resource_link_id}),
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
    }
    if platform.storage_target:
        login["lti_storage_target"] = platform.storage_target
    return render_template(
        "emulator/course.html",
        platform=platform,
        person=person,
        placement=placement,
        login_url=f"{settings.base_url}/lti/login?{urlencode(login)}",
        tool_origin=settings.base_url,
    )


@blueprint.route("/<mode>/auth", methods=["GET", "POST"])
def auth(mode: str) -> str:
    """OIDC authorization endpoint: check the tool's request, then post a signed id_token back to it."""
    platform = platform_or_404(mode, request.values.get("client_id"))
    settings = wiring.settings()
    params = request.values
    expected = {
        "response_type": "id_token",
        "response_mode": "form_post",
        "scope": "openid",
        "client_id": platform.client_id,
        "redirect_uri": f"{settings.base_url}/lti/launch",
    }
    wrong = [name for name, value in expected.items() if params.get(name) != value]
    if wrong or not params.get("state") or not params.get("nonce"):
        abort(400, description=f"Invalid authentication request: check {', '.join(wrong) or 'state and nonce'}.")
    try:
        hint = _hints().loads(params.get("lti_message_hint", ""))
    except BadSignature:
        abort(400, description="The lti_message_hint was not issued by this platform.")
    person = PEOPLE[hint["person"]]
    if params.get("login_hint") != person.id:
        abort(400, description="login_hint does not match the launching user.")
    if hint.get("deep_link"):  # "Add Tracebook to the course": an LtiDeepLinkingRequest instead of a launch
        return deep_linking.deep_linking_request(platform, person, params["nonce"], params["state"])
    placement = deep_linking.find_placement(mode, hint["placement"])
    if placement is None:
        abort(400, description="The placement of this launch is no longer in the course.")
    # Moodle grades every activity but a page; a deep-linked link has a column when the tool asked for one.
    moodle_grades = platform.mode == "moodle" and wiring.module().lesson(placement.unit) is None
    graded = moodle_grades if placement.graded is None else placement.graded
    with wiring.transaction() as session:
        key = EmulatorKeys(session, wiring.clock().now()).current()
        lineitem = (
            line_item_for_placement(session, platform, f"{platform.mode}-{placement.resource_link_id}", placement.title)
            if graded
            else None
        )
    payload = resource_link_claims(
        platform,
        emulator_url=settings.emulator_url,
        tool_url=settings.base_url,
        person=person,
        placement=placement,
        nonce=params["nonce"],
        now=wiring.clock().now(),
        lineitem_url=lineitem,
    )
    return render_template(
        "emulator/form_post.html", action=expected["redirect_uri"], id_token=sign(payload, key), state=params["state"]
    )


@blueprint.get("/<mode>/jwks")
def jwks(mode: str) -> Response:
    platform_or_404(mode, request.values.get("client_id"))
    with _fetch_lock:
        JWKS_FETCHES[mode] += 1
    with wiring.transaction() as session:
        keys = EmulatorKeys(session, wiring.clock().now()).jwks()
    response = jsonify(keys)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@blueprint.post("/keys/rotate")
def rotate_keys() -> Response:
    with wiring.transaction() as session:
        key = EmulatorKeys(session, wiring.clock().now()).rotate()
    return jsonify(kid=key.kid)


@blueprint.get("/stats")
def stats() -> Response:
    return jsonify(jwks_fetches=dict(JWKS_FETCHES))


@blueprint.get("/storage")
def storage() -> str:
    """Canvas's post_message_forwarding frame: answers lti.put_data / lti.get_data for the tool."""
    return render_template("emulator/storage.html", tool_origin=wiring.settings().base_url)


services.register(blueprint)
deep_linking.register(blueprint)
dynamic_registration.register(blueprint)
