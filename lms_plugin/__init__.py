"""The web application: the only package that imports Flask (and, later, pylti1p3)."""

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from content import load_default_module
from lms_plugin.clock import SystemClock
from lms_plugin.config import Settings, load_settings
from lms_plugin.db import Database


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory. ``config`` overrides settings by name without the prefix, e.g. ``{"DATABASE_URL": …}``."""
    settings: Settings = load_settings(overrides=config)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, TRACEBOOK=settings, TESTING=settings.env == "test")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    Database(settings.database_url).init_app(app)
    # Content problems should stop the start-up, not the first student's request.
    app.extensions["tracebook.module"] = load_default_module()
    app.extensions["tracebook.clock"] = SystemClock()

    from lms_plugin import cli, errors, preview, security

    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(preview.blueprint)
    cli.init_app(app)
    return app
