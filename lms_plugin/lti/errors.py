"""Why a launch or login was refused: a status, what was wrong, and what an admin can do about it."""


class LaunchRefusedError(Exception):
    def __init__(self, reason: str, advice: str = "", status: int = 400) -> None:
        self.reason = reason
        self.advice = advice
        self.status = status
        super().__init__(reason)


class SessionExpiredError(Exception):
    """The tool's session token is missing, forged or expired: the student must relaunch from the course."""


class RegistrationRefusedError(Exception):
    """LTI Dynamic Registration was refused or failed: what was wrong, and what the admin can do about it."""

    def __init__(self, reason: str, advice: str = "", status: int = 400) -> None:
        self.reason = reason
        self.advice = advice
        self.status = status
        super().__init__(reason)


class DeepLinkChoiceError(Exception):
    """What an instructor picked cannot be placed (nothing, too many for the platform, an unknown unit)."""
