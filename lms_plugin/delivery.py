"""The outbox worker as the app runs it: every channel's sender, with the app's database, clock and keys."""

import os
import socket
import threading

import requests
from flask import Flask

from lms_plugin.clock import Clock
from lms_plugin.db import Database
from lms_plugin.grades.sender import CHANNEL as AGS
from lms_plugin.grades.sender import AgsSender
from lms_plugin.lti.ags import ServiceClient
from lms_plugin.lti.keys import SigningKey, ToolKeyService
from lms_plugin.lti.platform_directory import PlatformDirectory
from lms_plugin.outbox.worker import OutboxWorker


def outbox_worker(app: Flask, name: str | None = None) -> OutboxWorker:
    db: Database = app.extensions["tracebook.db"]
    clock: Clock = app.extensions["tracebook.clock"]
    directory: PlatformDirectory = app.extensions["tracebook.platform_directory"]

    def signing_key() -> SigningKey:
        with db.transaction() as session:
            return ToolKeyService(session, clock.now()).current()

    http = requests.Session()
    http.headers["User-Agent"] = "Tracebook (LTI tool)"
    client = ServiceClient(http, signing_key, clock)
    return OutboxWorker(
        db,
        {AGS: AgsSender(db, directory, client, clock)},
        clock,
        name=name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}",
    )


def start_in_background(app: Flask) -> threading.Event:
    """Run the worker on a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    worker = outbox_worker(app)
    threading.Thread(target=worker.run, args=(stop,), name="outbox-worker", daemon=True).start()
    return stop
