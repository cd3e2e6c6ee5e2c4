"""What a lab refuses. A refused message is not stored and changes nothing."""


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
