"""The app's shared objects, as views reach them: settings, clock, module, platform keys, the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from content import Module
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.db import database
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.platform_directory import PlatformDirectory
from lms_plugin.lti.platform_keys import PlatformKeys

T = TypeVar("T")


def settings() -> Settings:
    value: Settings = current_app.config["TRACEBOOK"]
    return value


def clock() -> Clock:
    value: Clock = current_app.extensions["tracebook.clock"]
    return value


def module() -> Module:
    value: Module = current_app.extensions["tracebook.module"]
    return value


def platform_directory() -> PlatformDirectory:
    value: PlatformDirectory = current_app.extensions["tracebook.platform_directory"]
    return value


def platform_keys() -> PlatformKeys:
    value: PlatformKeys = current_app.extensions["tracebook.platform_keys"]
    return value


@contextmanager
def transaction() -> Iterator[Session]:
    with database().transaction() as session:
        yield session


def committing_refusal(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction that commits even when it refuses: what it wrote before refusing is a
    fact worth keeping (a spent login, an unknown deployment, fetched keys). The refusal is raised after."""
    refusal: LaunchRefusedError | None = None
    with transaction() as session:
        try:
            result = work(session)
        except LaunchRefusedError as error:
            refusal = error
    if refusal is not None:
        raise refusal
    return result
