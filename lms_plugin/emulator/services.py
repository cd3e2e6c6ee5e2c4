"""The emulator's platform-side LTI Advantage services: the OAuth 2 token endpoint (client credentials with a
JWT client assertion verified against the tool's own JWKS), AGS line items and scores, a gradebook page, and
a switch that makes score posts fail on demand (status codes, Retry-After, 401) for tests and demos."""

import threading
from collections import defaultdict
from typing import Any

import jwt
import requests
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin import wiring
from lms_plugin.emulator.dynamic_registration import platform_or_404
from lms_plugin.emulator.platforms import COURSE_ID, PEOPLE, EmulatedPlatform
from lms_plugin.lti.ags import (
    LINEITEM_TYPE,
    LINEITEMS_TYPE,
    MEMBERSHIPS_TYPE,
    SCOPE_LINEITEM,
    SCOPE_NRPS,
    SCOPE_RESULT,
    SCOPE_SCORE,
    SCORE_TYPE,
)
from lms_plugin.models import EmulatorLineItem, EmulatorScore

TOKEN_LIFETIME = 3600
# Planned failures for score posts, consumed in order: [{"status": 500}, {"status": 429, "retry_after": 7}].
FAILURES: dict[str, list[dict[str, Any]]] = defaultdict(list)
TOKENS_ISSUED: dict[str, int] = defaultdict(int)
_lock = threading.Lock()
_tool_keys: dict[str, jwt.PyJWK] = {}


def register(blueprint: Blueprint) -> None:
    """Add the service endpoints to the emulator's blueprint."""
    blueprint.add_url_rule("/<mode>/token", view_func=token, methods=["POST"])
    blueprint.add_url_rule("/<mode>/contexts/<context_id>/lineitems", view_func=line_items, methods=["GET", "POST"])
    blueprint.add_url_rule("/<mode>/contexts/<context_id>/lineitems/<int:item_id>/lineitem", view_func=line_item)
    blueprint.add_url_rule(
        "/<mode>/contexts/<context_id>/lineitems/<int:item_id>/lineitem/scores", view_func=scores, methods=["POST"]
    )
    blueprint.add_url_rule("/<mode>/gradebook", view_func=gradebook)
    blueprint.add_url_rule("/<mode>/contexts/<context_id>/memberships", view_func=memberships)
    blueprint.add_url_rule("/failures", view_func=failures, methods=["GET", "POST", "DELETE"])


def _tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="emulator-access-token")


def _oauth_error(error: str, description: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error=error, error_description=description), status


def tool_key(kid: str) -> jwt.PyJWK | None:
    """The tool's public key, from the tool's JWKS over HTTP (as a platform does), re-read on an unknown kid."""
    with _lock:
        known = _tool_keys.get(kid)
    if known is not None:
        return known
    keys = requests.get(f"{wiring.settings().base_url}/lti/jwks.json", timeout=5).json()["keys"]
    with _lock:
        for jwk in keys:
            _tool_keys[jwk["kid"]] = jwt.PyJWK(jwk)
        return _tool_keys.get(kid)


def token(mode: str) -> tuple[Response, int] | Response:
    form = request.form
    try:  # which tool asks: the built-in registration, or one made by dynamic registration
        client_id = str(jwt.decode(form.get("client_assertion", ""), options={"verify_signature": False}).get("iss"))
    except jwt.InvalidTokenError:
        client_id = None
    platform = platform_or_404(mode, client_id)
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        return _oauth_error("invalid_client", "a JWT client assertion is required", 401)
    assertion = form.get("client_assertion", "")
    try:
        kid = jwt.get_unverified_header(assertion).get("kid", "")
        key = tool_key(kid)
        if key is None:
            return _oauth_error("invalid_client", f"unknown key id {kid}", 401)
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=["RS256"],
            audience=platform.token_url(wiring.settings().emulator_url),
            issuer=platform.client_id,
            # Times are checked against the app's clock below (injectable in tests), not the wall clock.
            options={"require": ["exp", "iat", "jti", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except (jwt.InvalidTokenError, requests.RequestException, KeyError) as error:
        return _oauth_error("invalid_client", f"the client assertion is invalid: {error}", 401)
    now = wiring.clock().now().timestamp()
    if not claims["iat"] - 60 <= now <= claims["exp"] + 60:
        return _oauth_error("invalid_client", "the client assertion has expired or is not yet valid", 401)
    if claims["sub"] != platform.client_id:
        return _oauth_error("invalid_client", "sub must be the client id", 401)
    granted = [s for s in form.get("scope", "").split() if s in (SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS)]
    with _lock:
        TOKENS_ISSUED[mode] += 1
    return jsonify(
        access_token=_tokens().dumps({"mode": mode, "scopes": granted}),
        token_type="Bearer",
        expires_in=TOKEN_LIFETIME,
        scope=" ".join(granted),
    )


def _authorize(mode: str, scope: str) -> None:
    header = request.headers.get("Authorization", "")
    try:
        grant = _tokens().loads(header.removeprefix("Bearer ").strip(), max_age=TOKEN_LIFETIME)
    except (BadSignature, SignatureExpired):
        abort(Response("invalid or expired access token", status=401))
    if grant["mode"] != mode or scope not in grant["scopes"]:
        abort(Response(f"the token does not grant {scope}", status=403))


def line_item_for_placement(session: Session, platform: EmulatedPlatform, resource_link_id: str, label: str) -> str:
    """Moodle creates a gradebook column with each graded activity and names it in the launch's ``lineitem``
    claim; the emulator does the same in its Moodle mode."""
    context_id = f"{platform.mode}-{COURSE_ID}"
    item = session.scalar(
        select(EmulatorLineItem).where(
            EmulatorLineItem.mode == platform.mode,
            EmulatorLineItem.context_id == context_id,
            EmulatorLineItem.resource_link_id == resource_link_id,
        )
    )
    if item is None:
        item = EmulatorLineItem(
            mode=platform.mode, context_id=context_id, resource_link_id=resource_link_id, label=label,
            score_maximum=100.0, created_at=wiring.clock().now(),
        )  # fmt: skip
        session.add(item)
        session.flush()
    return _line_item_url(platform.mode, context_id, item)


def _line_item_url(mode: str, context_id: str, item: EmulatorLineItem) -> str:
    query = "?type_id=3" if mode == "moodle" else ""
    return f"{wiring.settings().emulator_url}/{mode}/contexts/{context_id}/lineitems/{item.id}/lineitem{query}"


def _as_json(mode: str, item: EmulatorLineItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": _line_item_url(mode, item.context_id, item),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    for key, value in (("resourceId", item.resource_id), ("tag", item.tag), ("resourceLinkId", item.resource_link_id)):
        if value:
            data[key] = value
    return data


def line_items(mode: str, context_id: str) -> tuple[Response, int] | Response:
    platform_or_404(mode)
    _authorize(mode, SCOPE_LINEITEM)
    with wiring.transaction() as session:
        if request.method == "POST":
            body = request.get_json(force=True)
            if not isinstance(body, dict) or not body.get("label") or not body.get("scoreMaximum"):
                return jsonify(error="a line item needs a label and a scoreMaximum"), 400
            item = EmulatorLineItem(
                mode=mode,
                context_id=context_id,
                resource_link_id=body.get("resourceLinkId"),
                resource_id=body.get("resourceId"),
                tag=body.get("tag"),
                label=body["label"],
                score_maximum=float(body["scoreMaximum"]),
                created_at=wiring.clock().now(),
            )
            session.add(item)
            session.flush()
            response = jsonify(_as_json(mode, item))
            response.status_code = 201
            response.mimetype = LINEITEM_TYPE
            return response
        query = select(EmulatorLineItem).where(EmulatorLineItem.mode == mode, EmulatorLineItem.context_id == context_id)
        for arg, column in (
            ("resource_link_id", EmulatorLineItem.resource_link_id),
            ("resource_id", EmulatorLineItem.resource_id),
            ("tag", EmulatorLineItem.tag),
        ):
            if request.args.get(arg):
                query = query.where(column == request.args[arg])
        items = [_as_json(mode, item) for item in session.scalars(query.order_by(EmulatorLineItem.id))]
    response = jsonify(items)
    response.mimetype = LINEITEMS_TYPE
    return response


def line_item(mode: str, context_id: str, item_id: int) -> Response:
    _authorize(mode, SCOPE_LINEITEM)
    with wiring.transaction() as session:
        item = session.get(EmulatorLineItem, item_id)
        if item is None or item.context_id != context_id:
            abort(404)
        return jsonify(_as_json(mode, item))


def scores(mode: str, context_id: str, item_id: int) -> tuple[Response, int] | Response:
    platform_or_404(mode)
    with _lock:
        planned = FAILURES["scores"].pop(0) if FAILURES["scores"] else None
    if planned is not None:
        response = Response(planned.get("body", "planned failure"), status=planned["status"])
        if planned.get("retry_after") is not None:
            response.headers["Retry-After"] = str(planned["retry_after"])
        return response
    _authorize(mode, SCOPE_SCORE)
    if mode == "moodle" and request.mimetype != SCORE_TYPE:
        return jsonify(error=f"Moodle accepts scores only as {SCORE_TYPE}"), 415
    body = request.get_json(force=True)
    required = ("userId", "activityProgress", "gradingProgress", "timestamp")
    if not isinstance(body, dict) or any(key not in body for key in required):
        return jsonify(error=f"a score needs {', '.join(required)}"), 400
    user = PEOPLE.get(str(body["userId"]).rsplit("-", 1)[-1])
    if mode == "canvas" and user is not None and user.id == "test":
        return jsonify(errors={"type": "unprocessable", "message": "User not found in course or is not a student"}), 422
    with wiring.transaction() as session:
        item = session.get(EmulatorLineItem, item_id)
        if item is None or item.context_id != context_id:
            return jsonify(error="no such line item"), 404
        session.add(
            EmulatorScore(
                line_item_id=item.id,
                user_id=str(body["userId"]),
                score_given=body.get("scoreGiven"),
                score_maximum=body.get("scoreMaximum"),
                activity_progress=str(body["activityProgress"]),
                grading_progress=str(body["gradingProgress"]),
                timestamp=str(body["timestamp"]),
                received_at=wiring.clock().now(),
            )
        )
    return Response(status=204)


def gradebook(mode: str) -> str:
    """The gradebook as a teacher sees it: one column per line item, each student's latest score."""
    platform = platform_or_404(mode)
    with wiring.transaction() as session:
        items = session.scalars(
            select(EmulatorLineItem).where(EmulatorLineItem.mode == mode).order_by(EmulatorLineItem.id)
        ).all()
        received = session.scalars(
            select(EmulatorScore)
            .where(EmulatorScore.line_item_id.in_([i.id for i in items]))
            .order_by(EmulatorScore.id)
        ).all()
    latest: dict[tuple[str, int], EmulatorScore] = {}
    for score in received:
        latest[score.user_id, score.line_item_id] = score
    users = sorted({user for user, _ in latest})
    return render_template(
        "emulator/gradebook.html", platform=platform, items=items, users=users, latest=latest, count=len(received)
    )


def failures() -> Response:
    with _lock:
        if request.method == "POST":
            FAILURES["scores"].extend((request.get_json(force=True) or {}).get("scores", []))
        elif request.method == "DELETE":
            FAILURES["scores"].clear()
        return jsonify(scores=list(FAILURES["scores"]))


def memberships(mode: str, context_id: str) -> Response:
    """NRPS 2.0 context membership, paged with ``Link: <…>; rel="next"`` as Canvas and Moodle do."""
    platform = platform_or_404(mode)
    _authorize(mode, SCOPE_NRPS)
    people = [p for p in PEOPLE.values() if p.id != "test" or mode == "canvas"]
    limit = max(int(request.args.get("limit", "2")), 1)
    start = int(request.args.get("page", "0")) * limit
    page = people[start : start + limit]
    members = [
        {
            "status": "Active",
            "user_id": f"{mode}-user-{person.id}",
            "name": person.name,
            "given_name": person.given_name,
            "family_name": person.family_name,
            **({"email": person.email} if person.email else {}),
            "roles": list(person.roles),
        }
        for person in page
    ]
    url = f"{wiring.settings().emulator_url}/{mode}/contexts/{context_id}/memberships"
    response = jsonify(
        id=f"{url}?page={start // limit}",
        context={"id": context_id, "label": "OBS-101", "title": f"{platform.name} course"},
        members=members,
    )
    response.mimetype = MEMBERSHIPS_TYPE
    if start + limit < len(people):
        response.headers["Link"] = f'<{url}?page={start // limit + 1}&limit={limit}>; rel="next"'
    return response
