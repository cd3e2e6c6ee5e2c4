"""What the xAPI side refuses, in words for the admin who asked."""


class LrsSettingsError(Exception):
    """An LRS setting an admin gave cannot be used (unknown platform, not a URL, a user without a password)."""
