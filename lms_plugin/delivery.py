"""How the app talks to platforms after a launch: its LTI service client and the outbox worker with every
channel's sender, built from the app's database, clock and keys."""

import os
import socket
import threading

import requests
from flask import Flask

from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.db import Database
from lms_plugin.grades.sender import CHANNEL as AGS
from lms_plugin.grades.sender import AgsSender
from lms_plugin.lti.ags import ServiceClient
from lms_plugin.lti.keys import SigningKey, ToolKeyService
from lms_plugin.lti.platform_directory import PlatformDirectory
from lms_plugin.outbox.worker import OutboxWorker
from lms_plugin.services.certificate_pdfs import CertificatePdfSender
from lms_plugin.services.certificates import CHANNEL as CERTIFICATES
from lms_plugin.services.retention import DailyPurge
from lms_plugin.storage import FileStorage
from lms_plugin.xapi.lrs import LrsDirectory
from lms_plugin.xapi.sender import LrsSender
from lms_plugin.xapi.store import CHANNEL as XAPI


def service_client(app: Flask) -> ServiceClient:
    """The app's client for LTI Advantage services: one per process, so its token cache is shared."""
    existing: ServiceClient | None = app.extensions.get("tracebook.service_client")
    if existing is not None:
        return existing
    db: Database = app.extensions["tracebook.db"]
    clock: Clock = app.extensions["tracebook.clock"]

    def signing_key() -> SigningKey:
        with db.transaction() as session:
            return ToolKeyService(session, clock.now()).current()

    http = requests.Session()
    http.headers["User-Agent"] = "Tracebook (LTI tool)"
    client = ServiceClient(http, signing_key, clock)
    app.extensions["tracebook.service_client"] = client
    return client


def outbox_worker(app: Flask, name: str | None = None) -> OutboxWorker:
    db: Database = app.extensions["tracebook.db"]
    clock: Clock = app.extensions["tracebook.clock"]
    directory: PlatformDirectory = app.extensions["tracebook.platform_directory"]
    client = service_client(app)
    settings: Settings = app.config["TRACEBOOK"]
    return OutboxWorker(
        db,
        {
            AGS: AgsSender(db, directory, client, clock),
            XAPI: LrsSender(db, LrsDirectory(settings.xapi), clock, settings.xapi),
            CERTIFICATES: CertificatePdfSender(db, FileStorage(settings.certificates.storage_dir), settings, clock),
        },
        clock,
        name=name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}",
        tracer=app.extensions["tracebook.telemetry"].tracer("tracebook.outbox"),
        chores=[DailyPurge(db, clock, settings.retention)],  # once a day across all workers
    )


def start_in_background(app: Flask) -> threading.Event:
    """Run the worker on a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    worker = outbox_worker(app)
    threading.Thread(target=worker.run, args=(stop,), name="outbox-worker", daemon=True).start()
    return stop
