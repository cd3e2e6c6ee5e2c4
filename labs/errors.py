"""What a lab refuses (a refused message is not stored and changes nothing), and a model that cannot answer."""


class LabError(Exception):
    """Base class: the message was refused and the lab session is unchanged."""


class EmptyMessageError(LabError):
    def __init__(self) -> None:
        super().__init__("Write a message first: an empty message cannot be sent.")


class MessageTooLongError(LabError):
    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(
            f"Your message has {length} characters; the lab takes at most {limit}. Shorten it and send it again."
        )


class RateLimitError(LabError):
    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"You have sent {limit} messages in the last hour, the most a lab takes. "
            f"Try again in {max(retry_after_seconds // 60, 1)} minute(s)."
        )


class TokenBudgetError(LabError):
    def __init__(self, used: int, budget: int) -> None:
        super().__init__(
            f"This lab has used {used} of its {budget} tokens, its whole budget. Ask your instructor for more."
        )


class ReplyPendingError(LabError):
    def __init__(self) -> None:
        super().__init__("The assistant is still answering your previous message. Wait for its reply, then send.")


class ModelUnavailableError(Exception):
    """A chat model could not produce its reply. ``reason`` is for people (the log, the record); ``error_type``
    is the span's low-cardinality ``error.type`` ("429", "timeout", …)."""

    def __init__(self, reason: str, error_type: str) -> None:
        super().__init__(reason)
        self.reason, self.error_type = reason, error_type
