"""Sends queued xAPI statements to their Learning Record Store (xAPI 1.0.3 Communication §2.1: POST
``{endpoint}/statements`` with a list of statements; basic auth; the ``X-Experience-API-Version`` header).

Outcomes follow what the status code means for retrying: 2xx delivers the whole batch; 5xx, 429, a timeout or an
unreachable LRS retries it (honouring Retry-After), and so do refused credentials or a wrong endpoint (an admin
fixes those; the statements must still go then). A batch the LRS refuses for its content (400, 413, 422) is split
in halves until the statements it refuses are found: only those are dead-lettered, with the LRS's reason, and
the rest are delivered. A 409 means the LRS already holds a statement with one of the ids: the LRS's copy is
fetched and compared (Data §2.3.1, ignoring what an LRS sets itself) — the same statement is delivered, a
different one is a conflict, dead-lettered for an admin to see, because our ids are derived from what a
statement records and a conflict is a bug.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from opentelemetry.propagate import inject
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session

from lms_plugin.clock import Clock
from lms_plugin.config import XapiSettings
from lms_plugin.db import Database
from lms_plugin.outbox.delivery import Dead, Delivered, Message, Outcome, Retry
from lms_plugin.xapi.lrs import Lrs, LrsDirectory

log = logging.getLogger(__name__)
MAX_BATCH = 100  # statements per POST
# How long statements wait before the next look for an LRS. Configuring one releases the waiting ones at once;
# a batch a worker had in hand at that moment is not waiting yet, so this is also the longest it can be held up.
NO_LRS_WAIT = timedelta(minutes=1)
NO_LRS = "no LRS configured: set TRACEBOOK_LRS_ENDPOINT, or the platform's own with `tracebook platform lrs`"
REFUSED_CONTENT = frozenset({400, 413, 422})
CONFLICT = 409
# Properties an LRS sets or may re-serialise (Data §2.3.1 "Statement Immutability"): not part of the comparison.
SET_BY_LRS = frozenset({"authority", "stored", "version"})
REASON_LIMIT = 500


class LrsSender:
    def __init__(
        self,
        db: Database,
        directory: LrsDirectory,
        clock: Clock,
        settings: XapiSettings,
        http: requests.Session | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.version = settings.version
        self.timeout = settings.lrs_timeout
        self.max_batch = max_batch
        self.http = http or _keep_alive_session()

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        with self.db.transaction() as session:
            targets = self._targets(session, messages)
        outcomes: dict[int, Outcome] = {}
        by_lrs: dict[Lrs, list[Message]] = defaultdict(list)
        for message in messages:
            lrs = targets[message.destination.get("platform_id")]
            if lrs is None:
                outcomes[message.id] = Retry(NO_LRS, NO_LRS_WAIT)
            else:
                by_lrs[lrs].append(message)
        for lrs, batch in by_lrs.items():
            for start in range(0, len(batch), self.max_batch):
                chunk = batch[start : start + self.max_batch]
                for message, outcome in zip(chunk, self._deliver(lrs, chunk), strict=True):
                    outcomes[message.id] = outcome
        return [outcomes[message.id] for message in messages]

    def _targets(self, session: Session, messages: Sequence[Message]) -> dict[int | None, Lrs | None]:
        return self.directory.resolve(session, {message.destination.get("platform_id") for message in messages})

    def _headers(self) -> dict[str, str]:
        headers = {"X-Experience-API-Version": self.version}
        inject(headers)  # traceparent: the LRS's logs join the outbox delivery span
        return headers

    def _deliver(self, lrs: Lrs, batch: list[Message]) -> list[Outcome]:
        try:
            response = self.http.post(
                f"{lrs.endpoint}/statements",
                json=[message.payload for message in batch],
                auth=lrs.auth,
                headers=self._headers(),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return [Retry(f"the LRS at {lrs.endpoint} did not answer: {error}")] * len(batch)
        status = response.status_code
        if 200 <= status < 300:
            return [Delivered()] * len(batch)
        if status in REFUSED_CONTENT or status == CONFLICT:
            if len(batch) > 1:
                # Which statement the LRS objects to is not reliably said (and batches are atomic): halve.
                half = len(batch) // 2
                return self._deliver(lrs, batch[:half]) + self._deliver(lrs, batch[half:])
            if status == CONFLICT:
                return [self._compare(lrs, batch[0], _reason(response))]
            return [Dead(f"the LRS refused the statement (HTTP {status}): {_reason(response)}")]
        if status in (401, 403):
            reason = f"the LRS refused our credentials (HTTP {status}): check the LRS user name and password"
            return [Retry(reason, self._retry_after(response))] * len(batch)
        return [Retry(f"HTTP {status} from the LRS: {_reason(response)}", self._retry_after(response))] * len(batch)

    def _compare(self, lrs: Lrs, message: Message, reason: str) -> Outcome:
        """After a 409: the statement the LRS holds under this id, compared with ours."""
        statement_id = str(message.payload["id"])
        try:
            response = self.http.get(
                f"{lrs.endpoint}/statements",
                params={"statementId": statement_id},
                auth=lrs.auth,
                headers=self._headers(),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return Retry(f"conflict reported ({reason}); fetching the LRS's copy failed: {error}")
        stored = _statement_in(response, statement_id) if response.ok else None
        if stored is None:
            return Retry(f"conflict reported ({reason}), but the LRS returned no statement {statement_id}")
        differing = differences(message.payload, stored)
        if not differing:
            return Delivered()
        return Dead(
            f"conflict: the LRS holds a different statement with id {statement_id} (differs in {', '.join(differing)})"
        )

    def _retry_after(self, response: requests.Response) -> timedelta | None:
        value = response.headers.get("Retry-After", "").strip()
        if value.isdigit():
            return timedelta(seconds=int(value))
        if not value:
            return None
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(when - self.clock.now(), timedelta(0)) if when.tzinfo is not None else None


def _keep_alive_session() -> requests.Session:
    http = requests.Session()
    # One pooled connection per LRS host, kept alive between batches; retries are the outbox's, not urllib3's.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["User-Agent"] = "Tracebook (xAPI)"
    return http


def _reason(response: requests.Response) -> str:
    """The LRS's own words: FastAPI-style validation details (Ralph) condensed, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip() or response.reason or "")[:REASON_LIMIT]
    detail = body.get("detail", body.get("message")) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping) and "msg" in item:
                # loc is ["body", <index>, field, …]: the field path is what an admin can act on.
                path = [str(p) for p in item.get("loc", []) if p != "body" and not isinstance(p, int)]
                parts.append(f"{'.'.join(path) or 'statement'}: {item['msg']}")
            else:
                parts.append(str(item))
        return "; ".join(parts)[:REASON_LIMIT]
    return str(detail if detail is not None else body)[:REASON_LIMIT]


def _statement_in(response: requests.Response, statement_id: str) -> dict[str, Any] | None:
    """A GET by statementId answers with the statement (the spec) or, from some LRSs, a StatementResult."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    candidates = body["statements"] if isinstance(body.get("statements"), list) else [body]
    return next((s for s in candidates if isinstance(s, dict) and str(s.get("id")) == statement_id), None)


def _instant(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


def differences(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """The top-level properties in which the LRS's copy differs from ours; what an LRS adds or re-serialises
    (authority, stored, version, a timestamp we did not set, a timestamp's zone) does not count."""
    keys = (set(ours) | set(theirs)) - SET_BY_LRS
    if "timestamp" not in ours:
        keys.discard("timestamp")
    found = []
    for key in sorted(keys):
        mine, stored = ours.get(key), theirs.get(key)
        if key == "timestamp":
            mine, stored = _instant(mine), _instant(stored)
        if mine != stored:
            found.append(key)
    return found
