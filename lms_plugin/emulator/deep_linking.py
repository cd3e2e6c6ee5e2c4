"""The platform side of LTI Deep Linking 2.0: an instructor's "Add Tracebook to the course" sends an
``LtiDeepLinkingRequest`` (§4.4) through the usual OIDC login; the tool answers at the return URL with a signed
``LtiDeepLinkingResponse`` (§4.5), which the emulator verifies against the tool's JWKS before it creates the
links — and, for items that carry a ``lineItem``, their gradebook columns — as Canvas and Moodle do."""

import uuid
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from flask import Blueprint, abort, current_app, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from lms_plugin import wiring
from lms_plugin.emulator.dynamic_registration import platform_or_404
from lms_plugin.emulator.keys import EmulatorKeys
from lms_plugin.emulator.platforms import (
    COURSE_TITLE,
    PEOPLE,
    EmulatedPlacement,
    EmulatedPlatform,
    Person,
    placements,
)
from lms_plugin.emulator.services import tool_key
from lms_plugin.emulator.tokens import context_id, message_claims, sign
from lms_plugin.lti import claims
from lms_plugin.lti.context import UNIT_PARAMETER, WHOLE_MODULE
from lms_plugin.models import EmulatorLineItem, EmulatorPlacement

REQUEST_LIFETIME = timedelta(hours=1)  # how long an instructor may take to pick before answering
LEEWAY = 60  # seconds of clock difference allowed on the response's iat/exp
ADDED_PREFIX = "dl-"  # resource link ids of the links deep linking created


def register(blueprint: Blueprint) -> None:
    """Add the deep-linking pages to the emulator's blueprint."""
    blueprint.add_url_rule("/<mode>/deep-link", view_func=add_to_course)
    blueprint.add_url_rule("/<mode>/deep-link/return", view_func=deep_link_return, methods=["POST"])


def _hints() -> URLSafeSerializer:
    # The same signer as the launch's hints in views.py: the authorization endpoint reads both.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="emulator-message-hint")


def _request_data() -> URLSafeSerializer:
    """The opaque ``data`` the tool must echo: which request an answer belongs to, signed by the emulator."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="emulator-deep-link-data")


def course_placements(mode: str) -> list[EmulatedPlacement]:
    """The course's links in this mode: the built-in ones, then those added by deep linking."""
    with wiring.transaction() as session:
        rows = session.execute(
            select(
                EmulatorPlacement.resource_link_id,
                EmulatorPlacement.unit,
                EmulatorPlacement.title,
                EmulatorPlacement.line_item_id,
            )
            .where(EmulatorPlacement.mode == mode)
            .order_by(EmulatorPlacement.id)
        ).all()
    added = [EmulatedPlacement(link_id, unit, title, graded=item is not None) for link_id, unit, title, item in rows]
    return placements(wiring.module(), added)


def find_placement(mode: str, resource_link_id: str) -> EmulatedPlacement | None:
    """One link of the course; the built-in ones without a database query (launches ask for them most)."""
    if not resource_link_id.startswith(ADDED_PREFIX):
        return next((p for p in placements(wiring.module()) if p.resource_link_id == resource_link_id), None)
    return next((p for p in course_placements(mode) if p.resource_link_id == resource_link_id), None)


def add_to_course(mode: str) -> str:
    """The course page with the tool's deep-linking picker in the iframe ("Add Tracebook to the course")."""
    platform = platform_or_404(mode)
    settings = wiring.settings()
    person = PEOPLE.get(request.args.get("person", "alan"))
    if person is None:
        abort(400, description="Pick a person on the emulator's start page.")
    login = {
        "iss": platform.issuer(settings.emulator_url),
        "login_hint": person.id,
        "target_link_uri": f"{settings.base_url}/lti/launch",
        "lti_message_hint": _hints().dumps({"person": person.id, "deep_link": True}),
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
    }
    if platform.storage_target:
        login["lti_storage_target"] = platform.storage_target
    return render_template(
        "emulator/deep_link.html",
        platform=platform,
        person=person,
        login_url=f"{settings.base_url}/lti/login?{urlencode(login)}",
        tool_origin=settings.base_url,
    )


def deep_linking_claims(
    platform: EmulatedPlatform,
    *,
    emulator_url: str,
    tool_url: str,
    person: Person,
    nonce: str,
    now: datetime,
    data: str,
) -> dict[str, Any]:
    """An ``LtiDeepLinkingRequest`` id_token's claims (§4.4): who asks, in which course, and how to answer."""
    payload = message_claims(
        platform,
        emulator_url=emulator_url,
        tool_url=tool_url,
        person=person,
        nonce=nonce,
        now=now,
        message_type=claims.DEEP_LINKING_REQUEST,
    )
    payload |= {
        claims.DEEP_LINKING_SETTINGS: {
            "deep_link_return_url": f"{emulator_url}/{platform.mode}/deep-link/return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "accept_lineitem": True,
            "auto_create": True,
            "title": COURSE_TITLE,
            "data": data,
        },
    }
    return payload


def deep_linking_request(platform: EmulatedPlatform, person: Person, nonce: str, state: str) -> str:
    """The authorization endpoint's answer to a deep-linking login: a signed request, posted to the tool."""
    settings = wiring.settings()
    now = wiring.clock().now()
    data = _request_data().dumps(
        {
            "id": uuid.uuid4().hex,
            "mode": platform.mode,
            "client_id": platform.client_id,
            "deployment_id": platform.deployment_id,
            "expires": int((now + REQUEST_LIFETIME).timestamp()),
        }
    )
    payload = deep_linking_claims(
        platform,
        emulator_url=settings.emulator_url,
        tool_url=settings.base_url,
        person=person,
        nonce=nonce,
        now=now,
        data=data,
    )
    with wiring.transaction() as session:
        key = EmulatorKeys(session, now).current()
    return render_template(
        "emulator/form_post.html", action=f"{settings.base_url}/lti/launch", id_token=sign(payload, key), state=state
    )


def _refuse(reason: str, status: int = 400) -> NoReturn:
    abort(status, description=f"The tool's deep-linking response was refused: {reason}")


def _verified(platform: EmulatedPlatform, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The response's claims and the request it answers, or a 400 that says what is wrong."""
    settings = wiring.settings()
    try:
        kid = jwt.get_unverified_header(token).get("kid", "")
        key = tool_key(str(kid))
    except (jwt.InvalidTokenError, requests.RequestException, KeyError) as error:
        _refuse(f"it is not a JWT signed with a key the tool publishes ({error})")
    if key is None:
        _refuse(f"its key id {kid!r} is not in the tool's JWKS")
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=platform.issuer(settings.emulator_url),
            # Times are checked against the app's clock below (injectable in tests), not the wall clock.
            options={"require": ["iss", "aud", "exp", "iat", "nonce"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as error:
        _refuse(f"{error}")
    now = wiring.clock().now().timestamp()
    if not payload["iat"] - LEEWAY <= now <= payload["exp"] + LEEWAY:
        _refuse("it has expired or is not yet valid")
    if payload.get(claims.MESSAGE_TYPE) != claims.DEEP_LINKING_RESPONSE:
        _refuse(f"its message type is {payload.get(claims.MESSAGE_TYPE)!r}, not {claims.DEEP_LINKING_RESPONSE}")
    if payload.get(claims.VERSION) != claims.LTI_VERSION:
        _refuse(f"its LTI version is {payload.get(claims.VERSION)!r}, not {claims.LTI_VERSION}")
    if not isinstance(payload["nonce"], str) or not payload["nonce"]:
        _refuse("it has no nonce")
    try:
        data = _request_data().loads(str(payload.get(claims.DL_DATA, "")))
    except BadSignature:
        _refuse("it does not echo the data of a deep-linking request from this platform")
    if data["mode"] != platform.mode or data["expires"] <= now:
        _refuse("the deep-linking request it answers is from another platform or has expired")
    if payload["iss"] != data["client_id"]:
        _refuse(f"it is issued by {payload['iss']!r}, not by the tool's client id {data['client_id']!r}")
    if str(payload.get(claims.DEPLOYMENT_ID)) != data["deployment_id"]:
        _refuse(f"its deployment {payload.get(claims.DEPLOYMENT_ID)!r} is not {data['deployment_id']!r}")
    if not isinstance(payload.get(claims.DL_CONTENT_ITEMS, []), list):
        _refuse("its content_items claim is not a list")
    return payload, data


def _placement_of(item: Any, tool_origin: str) -> tuple[str, str, str, dict[str, Any] | None]:
    """An ltiResourceLink content item as (title, unit, url, lineItem), or a 400."""
    if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
        _refuse("this course accepts only ltiResourceLink items")
    url = item.get("url") or f"{tool_origin}/lti/launch"  # an LTI link without a url opens the tool's own
    parts = urlsplit(str(url))
    if f"{parts.scheme}://{parts.netloc}" != tool_origin:
        _refuse(f"the link {url} is not on the tool's site {tool_origin}")
    custom = item.get("custom")
    if not isinstance(custom, dict):
        custom = {}
    unit = str(custom.get(UNIT_PARAMETER) or WHOLE_MODULE)
    title = str(item.get("title") or wiring.module().title)[:255]
    line_item = item.get("lineItem")
    if line_item is not None:
        maximum = line_item.get("scoreMaximum") if isinstance(line_item, dict) else None
        if not isinstance(maximum, int | float) or isinstance(maximum, bool) or maximum <= 0:
            _refuse(f"the line item of {title!r} needs a positive scoreMaximum")
    return title, unit, str(url), line_item


def deep_link_return(mode: str) -> tuple[str, int]:
    """The deep-link return URL: verify the tool's answer, then create its links and gradebook columns."""
    platform = platform_or_404(mode)
    payload, data = _verified(platform, request.form.get("JWT", ""))
    tool_origin = wiring.settings().base_url.rstrip("/")
    items = [_placement_of(item, tool_origin) for item in payload.get(claims.DL_CONTENT_ITEMS, [])]
    created: list[EmulatorPlacement] = []
    with wiring.transaction() as session:
        answered = session.scalar(select(EmulatorPlacement.id).where(EmulatorPlacement.deep_link_id == data["id"]))
        if answered is not None:
            _refuse("this deep-linking request was already answered", status=409)
        now = wiring.clock().now()
        for title, unit, url, line_item in items:
            link_id = f"{ADDED_PREFIX}{uuid.uuid4().hex[:12]}"
            column = None
            if line_item is not None:
                column = EmulatorLineItem(
                    mode=mode,
                    context_id=context_id(platform),
                    resource_link_id=f"{mode}-{link_id}",  # as launches of the link name it
                    resource_id=line_item.get("resourceId"),
                    tag=line_item.get("tag"),
                    label=str(line_item.get("label") or title)[:255],
                    score_maximum=float(line_item["scoreMaximum"]),
                    created_at=now,
                )
                session.add(column)
                session.flush()
            placement = EmulatorPlacement(
                mode=mode,
                resource_link_id=link_id,
                deep_link_id=data["id"],
                title=title,
                unit=unit,
                url=url,
                line_item_id=column.id if column is not None else None,
                created_at=now,
            )
            session.add(placement)
            created.append(placement)
        session.flush()
        shown = [(p.resource_link_id, p.title, p.unit, p.line_item_id is not None) for p in created]
    return render_template("emulator/deep_link_done.html", platform=platform, created=shown), 200
