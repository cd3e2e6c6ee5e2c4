"""The ``tracebook`` admin command (click, through the Flask CLI)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from gunicorn.app.base import BaseApplication

from content.check import check_module
from content.loader import DEFAULT_MODULE_DIR
from lms_plugin.config import ConfigError, Settings
from lms_plugin.db import database


def _settings() -> Settings:
    settings: Settings = current_app.config["TRACEBOOK"]
    return settings


db_group = click.Group("db", help="Database schema.")
content_group = click.Group("content", help="The module's content files.")


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    database().upgrade()
    click.echo(f"Database is up to date ({_settings().database_url.split('://')[0]}).")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@with_appcontext
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and an up-to-date database."""
    database().new_revision(message)


@content_group.command("check")
@click.option(
    "--path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DEFAULT_MODULE_DIR,
    show_default="the shipped module",
    help="A module directory to check.",
)
def content_check(path: Path) -> None:
    """Load every content file with the tool's own rules; print a summary or every problem."""
    report = check_module(path)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any], post_fork: Callable[..., None]) -> None:
        self.application = app
        self.options = {**options, "post_fork": post_fork}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [default: TRACEBOOK_HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: TRACEBOOK_PORT or 8000].")
@with_appcontext
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database, then serve the tool (gunicorn; Flask's debug server in development)."""
    settings = _settings()
    db = database()
    db.upgrade()
    bind_host, bind_port = host or settings.host, port or settings.port
    click.echo(f"Tracebook ({settings.env}) on http://{bind_host}:{bind_port}/")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if settings.env == "development":
        app.run(host=bind_host, port=bind_port, debug=True, use_reloader=False)
        return
    db.dispose()  # each worker opens its own connections after the fork
    _Gunicorn(
        app,
        {
            "bind": f"{bind_host}:{bind_port}",
            "workers": settings.web_workers,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
        },
        post_fork=lambda _server, _worker: db.dispose(),
    ).run()


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(content_group)
    app.cli.add_command(serve)


def _create_app_for_cli() -> Flask:
    from lms_plugin import create_app

    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def main() -> None:
    FlaskGroup(
        name="tracebook",
        help="Tracebook: the admin's command line.",
        create_app=_create_app_for_cli,
        add_version_option=False,
        load_dotenv=False,  # our settings read .env themselves, with validation
    ).main(prog_name="tracebook")
