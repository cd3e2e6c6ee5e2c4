"""The tool admin's pages for one learner's data (issue 9): find them by platform and LTI user id, see what the
tool holds, export it (an access request) or erase it (an erasure request, after typing a confirmation).

Admin pages like the others (lms_plugin/blueprints/admin.py: its login guard, CSRF check, headers and template
values apply here). The learner is always sent in a POST body, never in a URL: URLs end up in access logs.
"""

from flask import Blueprint, Response, render_template, request

from lms_plugin import wiring
from lms_plugin.blueprints import admin
from lms_plugin.db import database
from lms_plugin.services.erasure import OUTSIDE_THE_TOOL, LearnerErasure
from lms_plugin.services.learner_export import HOLDING_LABELS, UnknownLearnerError, export_learner, summarise

blueprint = Blueprint("learners", __name__, url_prefix="/admin/learners")
# Admin pages: the admin blueprint's guard (login, CSRF), headers and template values, as its own pages have them.
admin.guard(blueprint)

CONFIRMATION_WORD = "ERASE"


def _who() -> tuple[str, str]:
    return request.form.get("issuer", "").strip(), request.form.get("sub", "").strip()


def _unknown(error: UnknownLearnerError) -> tuple[str, int]:
    """The search page again, with the form as filled in and what to check."""
    issuer, sub = _who()
    return render_template("admin/learners.html", issuer=issuer, sub=sub, error=str(error)), 404


def _summary_page(template: str, status: int = 200, **values: object) -> tuple[str, int]:
    """A page about the learner the form names."""
    issuer, sub = _who()
    try:
        with wiring.transaction() as db:
            summary = summarise(db, issuer, sub)
    except UnknownLearnerError as error:
        return _unknown(error)
    return render_template(template, summary=summary, **values), status


@blueprint.get("/")
def find() -> str:
    return render_template("admin/learners.html", issuer="", sub="", error=None)


@blueprint.post("/")
def show() -> tuple[str, int]:
    return _summary_page("admin/learner.html", labels=HOLDING_LABELS)


@blueprint.post("/export")
def export() -> Response | tuple[str, int]:
    issuer, sub = _who()
    try:
        with wiring.transaction() as db:
            made = export_learner(
                db, wiring.module(), wiring.settings(), wiring.clock().now(), (issuer, sub), admin.signed_in_username(),
                admin.remote_addr(),
            )  # fmt: skip
    except UnknownLearnerError as error:
        return _unknown(error)
    name = f"tracebook-learner-{made.reference}.zip"
    disposition = f'attachment; filename="{name}"'
    return Response(made.archive, mimetype="application/zip", headers={"Content-Disposition": disposition})


@blueprint.post("/erase/confirm")
def confirm_erase() -> tuple[str, int]:
    return _summary_page("admin/learner_erase.html", word=CONFIRMATION_WORD, error=None)


@blueprint.post("/erase")
def erase() -> tuple[str, int]:
    issuer, sub = _who()
    typed = request.form.get("confirmation", "").strip()
    if not typed or typed not in (CONFIRMATION_WORD, sub):
        error = f"Nothing was erased: type {CONFIRMATION_WORD} (or the learner's LTI user id) to confirm."
        return _summary_page("admin/learner_erase.html", 400, word=CONFIRMATION_WORD, error=error)
    try:
        report = LearnerErasure(database(), wiring.settings(), wiring.clock()).erase(
            issuer, sub, admin.signed_in_username(), admin.remote_addr()
        )
    except UnknownLearnerError as error:
        return _unknown(error)
    page = render_template("admin/learner_erased.html", report=report, labels=HOLDING_LABELS, outside=OUTSIDE_THE_TOOL)
    return page, 200
