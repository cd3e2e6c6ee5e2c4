"""The emulator's side of LTI Dynamic Registration 1.0 (https://www.imsglobal.org/spec/lti-dr/v1p0), as Moodle
plays it: an OpenID configuration per mode (§3.4), a registration endpoint that takes the tool's client
metadata with a one-time registration token as bearer (§3.5), and a "register a tool" page that opens the
tool's registration URL in a frame and waits for ``org.imsglobal.lti.close`` (§3.3, §3.6.1).

A registered tool gets its own client id and deployment id; the emulator's launch pages and authorization
endpoint accept that client id for the mode (``as_registered``), so a dynamically registered tool can be
launched like the built-in registrations.
"""

import dataclasses
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from lms_plugin import wiring
from lms_plugin.emulator.platforms import PEOPLE, PLATFORMS, EmulatedPlatform, placements
from lms_plugin.lti.ags import SCOPE_LINEITEM, SCOPE_NRPS, SCOPE_RESULT, SCOPE_SCORE
from lms_plugin.lti.claims import RESOURCE_LINK_REQUEST
from lms_plugin.lti.registration import DEEP_LINKING_REQUEST, PLATFORM_CONFIGURATION, TOOL_CONFIGURATION
from lms_plugin.models import EmulatorToolRegistration

REGISTRATION_TOKEN_LIFETIME = 3600  # seconds; Moodle's registration tokens live an hour
SCOPES = (SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS)


def register(blueprint: Blueprint) -> None:
    """Add the dynamic registration endpoints and pages to the emulator's blueprint."""
    blueprint.add_url_rule("/<mode>/openid-configuration", view_func=openid_configuration)
    blueprint.add_url_rule("/<mode>/registrations", view_func=registration_endpoint, methods=["POST"])
    blueprint.add_url_rule("/<mode>/tools", view_func=tools)
    blueprint.add_url_rule("/<mode>/tools/register", view_func=register_tool)


def platform_or_404(mode: str, client_id: str | None = None) -> EmulatedPlatform:
    """The emulated platform of ``mode`` as it serves the tool registered under ``client_id`` (the built-in
    registration when none is given); 404 for a mode the emulator does not play."""
    platform = PLATFORMS.get(mode)
    if platform is None:
        abort(404, description=f"The emulator has no '{mode}' platform (try canvas or moodle).")
    return as_registered(platform, client_id)


def _registration_tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="emulator-registration-token")


def new_registration_token(mode: str) -> str:
    """A registration token for one registration (the emulator refuses a second use of its id)."""
    return _registration_tokens().dumps({"mode": mode, "jti": uuid.uuid4().hex})


def configuration_url(platform: EmulatedPlatform, emulator_url: str) -> str:
    return f"{emulator_url}/{platform.mode}/openid-configuration"


def as_registered(platform: EmulatedPlatform, client_id: str | None) -> EmulatedPlatform:
    """The platform as it launches the tool registered under ``client_id``: the built-in registration when the
    client id is its own (or none is given), else a dynamically registered one of this mode, if any."""
    if not client_id or client_id == platform.client_id:
        return platform
    with wiring.transaction() as session:
        row = session.get(EmulatorToolRegistration, client_id)
        if row is None or row.mode != platform.mode:
            return platform
        return dataclasses.replace(platform, client_id=row.client_id, deployment_id=row.deployment_id)


def openid_configuration(mode: str) -> Response:
    """The platform's OpenID configuration, shaped like Moodle's ``/mod/lti/openid-configuration.php``."""
    platform = platform_or_404(mode)
    emulator_url = wiring.settings().emulator_url
    messages: list[dict[str, Any]] = [
        {"type": RESOURCE_LINK_REQUEST},
        {"type": DEEP_LINKING_REQUEST, "placements": ["ContentArea"]},
    ]
    return jsonify(
        {
            "issuer": platform.issuer(emulator_url),
            "authorization_endpoint": platform.auth_url(emulator_url),
            "token_endpoint": platform.token_url(emulator_url),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": platform.jwks_url(emulator_url),
            "registration_endpoint": f"{emulator_url}/{mode}/registrations",
            "scopes_supported": ["openid", *SCOPES],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": platform.product_family_code,
                "version": "emulated",
                "messages_supported": messages,
                "variables": ["ResourceLink.id", "Context.id", "User.id"],
            },
        }
    )


def _metadata_problems(metadata: Any) -> list[str]:
    """What is wrong with the tool's client metadata (LTI-DR §3.5.2), one readable line each."""
    if not isinstance(metadata, dict):
        return ["the body must be a JSON object"]
    problems = []

    def url(value: Any) -> bool:
        return isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).netloc)

    if metadata.get("application_type") != "web":
        problems.append("application_type must be web")
    if "id_token" not in (metadata.get("response_types") or []):
        problems.append("response_types must include id_token")
    if not {"implicit", "client_credentials"} <= set(metadata.get("grant_types") or []):
        problems.append("grant_types must include implicit and client_credentials")
    if metadata.get("token_endpoint_auth_method") != "private_key_jwt":
        problems.append("token_endpoint_auth_method must be private_key_jwt")
    for name in ("initiate_login_uri", "jwks_uri"):
        if not url(metadata.get(name)):
            problems.append(f"{name} must be a URL")
    redirects = metadata.get("redirect_uris")
    if not isinstance(redirects, list) or not redirects or not all(url(u) for u in redirects):
        problems.append("redirect_uris must be a non-empty list of URLs")
    tool = metadata.get(TOOL_CONFIGURATION)
    if not isinstance(tool, dict):
        problems.append(f"{TOOL_CONFIGURATION} is missing")
        return problems
    if not tool.get("domain"):
        problems.append(f"{TOOL_CONFIGURATION}.domain is missing")
    if not url(tool.get("target_link_uri")):
        problems.append(f"{TOOL_CONFIGURATION}.target_link_uri must be a URL")
    messages = tool.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) and m.get("type") for m in messages):
        problems.append(f"{TOOL_CONFIGURATION}.messages must be a list of objects with a type")
    return problems


def _new_deployment_id(platform: EmulatedPlatform, count: int) -> str:
    if platform.mode == "moodle":
        return str(100 + count)  # Moodle: the new tool type's id
    return f"{100 + count}:{secrets.token_hex(20)}"  # Canvas: the install's id and a hash


def registration_endpoint(mode: str) -> tuple[Response, int]:
    platform = platform_or_404(mode)
    bearer = request.headers.get("Authorization", "")
    try:
        grant = _registration_tokens().loads(
            bearer.removeprefix("Bearer ").strip(), max_age=REGISTRATION_TOKEN_LIFETIME
        )
    except SignatureExpired:
        return jsonify(error="invalid_token", error_description="the registration token has expired"), 401
    except BadSignature:
        return jsonify(error="invalid_token", error_description="a valid registration token is required"), 401
    if grant.get("mode") != mode:
        return jsonify(error="invalid_token", error_description="the token is for another platform"), 401
    metadata = request.get_json(silent=True)
    problems = _metadata_problems(metadata)
    if problems or not isinstance(metadata, dict):
        return jsonify(error="invalid_client_metadata", error_description="; ".join(problems)), 400
    scopes = [s for s in str(metadata.get("scope", "")).split() if s in SCOPES]
    with wiring.transaction() as session:
        used = select(EmulatorToolRegistration.client_id).where(EmulatorToolRegistration.token_id == grant["jti"])
        if session.scalar(used) is not None:  # the unique token_id also stops two racing uses
            return jsonify(error="invalid_token", error_description="this registration token was already used"), 401
        count = session.scalar(select(func.count()).select_from(EmulatorToolRegistration)) or 0
        row = EmulatorToolRegistration(
            client_id=secrets.token_urlsafe(12),
            mode=mode,
            deployment_id=_new_deployment_id(platform, count),
            token_id=str(grant["jti"]),
            client_metadata=metadata,
            created_at=wiring.clock().now(),
        )
        session.add(row)
    tool = {**metadata[TOOL_CONFIGURATION], "deployment_id": row.deployment_id}
    answer = {**metadata, "client_id": row.client_id, "scope": " ".join(scopes), TOOL_CONFIGURATION: tool}
    return jsonify(answer), 201


def _registered(mode: str) -> list[EmulatorToolRegistration]:
    with wiring.transaction() as session:
        return list(
            session.scalars(
                select(EmulatorToolRegistration)
                .where(EmulatorToolRegistration.mode == mode)
                .order_by(EmulatorToolRegistration.created_at)
            )
        )


def tools(mode: str) -> str:
    """The platform's tool list: register a tool by URL, and launch the tools registered that way."""
    platform = platform_or_404(mode)
    return render_template(
        "emulator/tools.html",
        platform=platform,
        tools=_registered(mode),
        people=PEOPLE.values(),
        placements=placements(wiring.module()),
    )


def register_tool(mode: str) -> str:
    """Open the tool's registration URL in a frame with a fresh registration token, as Moodle's "Add LTI
    Advantage" does; the page's script returns to the tool list on ``org.imsglobal.lti.close``."""
    platform = platform_or_404(mode)
    tool_url = request.args.get("url", "")
    parts = urlsplit(tool_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        abort(400, description="Enter the tool's registration URL (Tracebook: tracebook platform register-link).")
    settings = wiring.settings()
    token = new_registration_token(mode)
    query = [
        *parse_qsl(parts.query, keep_blank_values=True),
        ("openid_configuration", configuration_url(platform, settings.emulator_url)),
        ("registration_token", token),
    ]
    return render_template(
        "emulator/register_tool.html",
        platform=platform,
        frame_url=urlunsplit(parts._replace(query=urlencode(query))),
        tool_origin=f"{parts.scheme}://{parts.netloc}",
    )
