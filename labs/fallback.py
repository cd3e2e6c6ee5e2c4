"""When the configured model fails — refused connection, timeout, 429, 5xx, a stream cut short or unreadable —
the exchange goes on with the offline tutor: the student is told, in the reply itself, that the AI model was
unavailable, and gets the tutor's answer; the caller still receives text pieces and then exactly one record, so
nothing of the exchange is lost. The record names the tutor as the model that answered and says why."""

import logging
from collections.abc import Iterator
from dataclasses import replace

from labs.chat import ChatModel, ChatRecord, ChatRequest
from labs.errors import ModelUnavailableError

log = logging.getLogger(__name__)

NOTE = "> *The AI model is unavailable right now, so the offline tutor answers instead. Nothing you wrote is lost.*"
# Between the part of the model's reply that already reached the student and the note.
BREAK = "\n\n---\n\n"


class FallbackChat:
    """``primary`` while it works, ``fallback`` (the tutor) for any exchange it cannot finish."""

    def __init__(self, primary: ChatModel, fallback: ChatModel) -> None:
        self._primary, self._fallback = primary, fallback
        self.provider, self.model = primary.provider, primary.model

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        streamed = False
        try:
            for item in self._primary.stream(request):
                streamed = streamed or (isinstance(item, str) and bool(item))
                yield item
            return
        except ModelUnavailableError as error:
            reason = error.reason
        log.warning(
            "The lab model %s/%s failed (%s); the offline tutor answers conversation %s instead.",
            self.provider,
            self.model,
            reason,
            request.conversation_id,
        )
        yield (BREAK if streamed else "") + NOTE + "\n\n"
        for item in self._fallback.stream(request):
            yield replace(item, fallback_reason=reason) if isinstance(item, ChatRecord) else item
