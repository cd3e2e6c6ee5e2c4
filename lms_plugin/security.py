"""Response headers every page gets. The tool lives in LMS iframes, so framing is allowed; referrers are not
sent, so launch parameters in URLs never leak to other sites."""

from flask import Flask, Response


def _headers(response: Response) -> Response:
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'",
    )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
