"""Sends queued scores to the platform (LTI AGS 2.0 §3.4): find or create the placement's line item, then
post the score with a fresh timestamp. Outcomes follow what the status code means for retrying."""

import logging
import threading
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from lms_plugin.clock import Clock
from lms_plugin.db import Database
from lms_plugin.lti.ags import (
    LINEITEM_TYPE,
    LINEITEMS_TYPE,
    SCORE_TYPE,
    ServiceCallError,
    ServiceClient,
)
from lms_plugin.lti.platform_directory import PlatformDirectory, PlatformInfo
from lms_plugin.lti.quirks import canvas_progress_only, moodle_service_url
from lms_plugin.outbox.delivery import Dead, Delivered, Message, NotGradable, Outcome, Retry

log = logging.getLogger(__name__)
CHANNEL = "ags"
# Status codes with which gradebooks refuse a score for a user they do not grade (Moodle: 400 for a teacher;
# Canvas: 422 for a user who is not a student, or the test student).
NOT_GRADABLE = {400, 403, 422}


def _outcome(error: ServiceCallError) -> Outcome:
    if error.status == 0 or error.status in (401, 408, 429) or error.status >= 500:
        return Retry(error.reason, error.retry_after)
    return Dead(f"HTTP {error.status}: {error.reason}")


class AgsSender:
    def __init__(self, db: Database, directory: PlatformDirectory, client: ServiceClient, clock: Clock) -> None:
        self.db = db
        self.directory = directory
        self.client = client
        self.clock = clock
        self._line_items: dict[tuple[str, str], str] = {}  # (lineitems URL, resource id) -> line item URL
        self._lock = threading.Lock()

    def _platform(self, destination: dict[str, Any]) -> PlatformInfo | None:
        with self.db.transaction() as session:
            return self.directory.find(session, destination["issuer"], destination["client_id"], self.clock.now())

    def _line_item(self, platform: PlatformInfo, destination: dict[str, Any]) -> str:
        if destination.get("lineitem_url"):
            return str(destination["lineitem_url"])
        container = str(destination["lineitems_url"])
        cache_key = (container, str(destination["resource_id"]))
        with self._lock:
            known = self._line_items.get(cache_key)
        if known:
            return known
        found = self.client.call(
            platform,
            "GET",
            container,
            accept=LINEITEMS_TYPE,
            params={"resource_link_id": destination["resource_link_id"], "resource_id": destination["resource_id"]},
        ).json()
        matching = [item for item in found if item.get("resourceId") == destination["resource_id"]]
        if matching:
            url = str(matching[0]["id"])
        else:
            created = self.client.call(
                platform,
                "POST",
                container,
                content_type=LINEITEM_TYPE,
                accept=LINEITEM_TYPE,
                body={
                    "scoreMaximum": destination["score_maximum"],
                    "label": destination["label"],
                    "resourceId": destination["resource_id"],
                    "tag": destination["tag"],
                    "resourceLinkId": destination["resource_link_id"],
                },
            ).json()
            url = str(created["id"])
        with self._lock:
            self._line_items[cache_key] = url
        return url

    def _send_one(self, message: Message) -> Outcome:
        destination = dict(message.destination)
        platform = self._platform(destination)
        if platform is None:
            return Dead(f"the platform {destination['issuer']} ({destination['client_id']}) is no longer registered")
        score = canvas_progress_only(
            {
                **message.payload,
                "userId": destination["user_id"],
                # A fresh timestamp on every send: platforms keep the score with the latest timestamp.
                "timestamp": self.clock.now().astimezone(UTC).isoformat(timespec="milliseconds"),
            }
        )
        try:
            line_item = self._line_item(platform, destination)
        except ServiceCallError as error:
            return _outcome(error)
        try:
            self.client.call(
                platform,
                "POST",
                moodle_service_url(line_item, "/scores"),
                body=score,
                content_type=SCORE_TYPE,
            )
        except ServiceCallError as error:
            if error.status in NOT_GRADABLE:
                return NotGradable(f"HTTP {error.status}: {error.reason}")
            return _outcome(error)
        return Delivered()

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        return [self._send_one(message) for message in messages]
