"""The platform checks of LTI Dynamic Registration (LTI-DR §3.5.1), without a network."""

import pytest

from lms_plugin.lti.errors import RegistrationRefusedError
from lms_plugin.lti.registration import PLATFORM_CONFIGURATION, issuer_matches, platform_configuration

MOODLE = "https://moodle.example.edu"
CONFIG_URL = f"{MOODLE}/mod/lti/openid-configuration.php"


def _config(**changes: object) -> dict[str, object]:
    config: dict[str, object] = {
        "issuer": MOODLE,
        "authorization_endpoint": f"{MOODLE}/mod/lti/auth.php",
        "token_endpoint": f"{MOODLE}/mod/lti/token.php",
        "jwks_uri": f"{MOODLE}/mod/lti/certs.php",
        "registration_endpoint": f"{MOODLE}/mod/lti/openid-registration.php",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        PLATFORM_CONFIGURATION: {"product_family_code": "moodle", "version": "4.5"},
    }
    config.update(changes)
    return config


@pytest.mark.parametrize(
    ("issuer", "url", "matches"),
    [
        (MOODLE, CONFIG_URL, True),
        (MOODLE + "/", CONFIG_URL, True),
        ("https://moodle.example.edu/school", "https://moodle.example.edu/school/mod/lti/x.php", True),
        # A prefix must end at a path boundary: this issuer does not vouch for another host.
        (MOODLE, "https://moodle.example.edu.evil.test/mod/lti/openid-configuration.php", False),
        ("https://moodle.example.edu/school", "https://moodle.example.edu/schoolx/config", False),
        ("https://other.example.edu", CONFIG_URL, False),
        # Hosted Canvas: one issuer, configuration on the customer's own instructure.com domain.
        (
            "https://canvas.instructure.com",
            "https://school.instructure.com/api/lti/security/openid-configuration",
            True,
        ),
        ("https://canvas.instructure.com", "https://school.example.edu/api/lti/security/openid-configuration", False),
        (
            "https://canvas.instructure.com",
            "http://school.instructure.com/api/lti/security/openid-configuration",
            False,
        ),
    ],
)
def test_the_issuer_must_start_the_configuration_url(issuer: str, url: str, matches: bool) -> None:
    assert issuer_matches(issuer, url) is matches


def test_a_valid_configuration_gives_the_endpoints_and_product() -> None:
    platform = platform_configuration(_config(), CONFIG_URL, https_only=True)
    assert (platform.issuer, platform.token_endpoint, platform.product_family_code) == (
        MOODLE,
        f"{MOODLE}/mod/lti/token.php",
        "moodle",
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"registration_endpoint": None}, "lacks a valid https URL for: registration_endpoint"),
        ({"jwks_uri": "http://moodle.example.edu/mod/lti/certs.php"}, "lacks a valid https URL for: jwks_uri"),
        ({"issuer": "https://elsewhere.example.edu"}, "does not match the configuration URL"),
        ({"token_endpoint_auth_methods_supported": ["client_secret_basic"]}, "private_key_jwt"),
        ({PLATFORM_CONFIGURATION: None}, "not an LTI platform's"),
    ],
)
def test_a_configuration_the_tool_cannot_use_is_refused_with_the_reason(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(RegistrationRefusedError, match=reason):
        platform_configuration(_config(**changes), CONFIG_URL, https_only=True)
