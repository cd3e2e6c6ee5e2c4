"""The web application: the only package that imports Flask and pylti1p3."""

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, render_template

from content import load_default_module
from lms_plugin import lab_runtime, telemetry
from lms_plugin.clock import SystemClock
from lms_plugin.config import Settings, load_settings
from lms_plugin.db import Database
from lms_plugin.lti.platform_directory import PlatformDirectory
from lms_plugin.lti.platform_keys import HttpKeySetFetcher, PlatformKeys


def _base_app(config: Mapping[str, Any] | None) -> tuple[Flask, Settings]:
    settings: Settings = load_settings(overrides=config)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, TRACEBOOK=settings, TESTING=settings.env == "test")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Database(settings.database_url).init_app(app)
    # Content problems should stop the start-up, not the first student's request.
    app.extensions["tracebook.module"] = load_default_module()
    app.extensions["tracebook.clock"] = SystemClock()

    from lms_plugin import cli, errors, security

    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app, settings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory. ``config`` overrides settings by name without the prefix, e.g. ``{"DATABASE_URL": …}``."""
    app, settings = _base_app(config)
    app.extensions["tracebook.platform_keys"] = PlatformKeys(HttpKeySetFetcher())
    app.extensions["tracebook.platform_directory"] = PlatformDirectory()

    from lms_plugin.blueprints import certificates, instructor, labs, lti, registration, student

    telemetry.init_app(app, settings.otlp_endpoint)
    lab_runtime.init_app(app, settings, app.extensions["tracebook.telemetry"])
    app.register_blueprint(lti.blueprint)
    app.register_blueprint(registration.blueprint)
    app.register_blueprint(student.blueprint)
    app.register_blueprint(student.api)
    app.register_blueprint(labs.blueprint)
    app.register_blueprint(labs.api)
    app.register_blueprint(certificates.public)  # verification pages and the issuer's documents: no login
    app.register_blueprint(certificates.files)
    from lms_plugin.blueprints import deep_linking

    app.register_blueprint(deep_linking.blueprint)  # an instructor placing the module (LTI Deep Linking 2.0)
    app.register_blueprint(instructor.blueprint)
    from lms_plugin.blueprints import admin, privacy

    admin.init_app(app)  # the tool admin's pages, and the session cookie they (alone) use
    app.register_blueprint(privacy.blueprint)  # admin pages for one learner's data: export, erasure
    app.jinja_env.globals["tb_url"] = student.student_url
    if settings.emulator:
        from lms_plugin.emulator import views

        app.register_blueprint(views.blueprint)

    @app.get("/")
    def home() -> str:
        return render_template(
            "home.html",
            module=app.extensions["tracebook.module"],
            base_url=settings.base_url,
            emulator_url=settings.emulator_url if settings.emulator else None,
        )

    return app


def create_emulator_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The LMS emulator alone, for ``tracebook emulator``: its own process, so a benchmark of the tool does
    not share the tool's workers with the platform side."""
    app, settings = _base_app(config)
    if not settings.emulator:
        raise RuntimeError("The LMS emulator is off (TRACEBOOK_EMULATOR=false or production).")
    from lms_plugin.emulator import views

    app.register_blueprint(views.blueprint)
    return app
