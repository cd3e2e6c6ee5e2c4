"""Every refusal is a page (or JSON for API calls) that says what was wrong — never a bare 500."""

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from lms_plugin.lti.errors import LaunchRefusedError, SessionExpiredError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.is_json or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error=title, message=message), status
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        return _render(error.code or 500, error.name, error.description or "")

    @app.errorhandler(LaunchRefusedError)
    def refused(error: LaunchRefusedError) -> tuple[Response | str, int]:
        log.info("launch refused (%s): %s", error.status, error.reason)
        if _wants_json():
            return jsonify(error="Launch refused", message=error.reason, advice=error.advice), error.status
        return render_template("lti/refused.html", status=error.status, reason=error.reason, advice=error.advice), (
            error.status
        )

    @app.errorhandler(SessionExpiredError)
    def expired(error: SessionExpiredError) -> tuple[Response | str, int]:
        message = "Your session has ended. Open the activity again from your course."
        if _wants_json():
            return jsonify(error="Session ended", message=message), 401
        return render_template("lti/expired.html"), 401

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error on %s", request.path)
        fallback = InternalServerError()
        return _render(500, fallback.name, "Something went wrong on our side; it has been logged.")
