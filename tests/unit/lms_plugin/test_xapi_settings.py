"""The LRS and xAPI settings, and how the sender compares its statement with the LRS's copy after a 409."""

from pathlib import Path

import pytest

from lms_plugin.config import ConfigError, load_settings
from lms_plugin.xapi.lrs import Lrs, LrsDirectory
from lms_plugin.xapi.sender import differences


def test_without_lrs_settings_statements_have_nowhere_to_go_and_carry_no_email_or_lab_text(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"TRACEBOOK_DATA_DIR": str(tmp_path), "TRACEBOOK_BASE_URL": "https://tool.example.org"},
        dotenv_path=None,
    ).xapi
    assert settings.lrs_endpoint is None
    assert LrsDirectory(settings).default is None
    assert settings.version == "1.0.3"
    assert settings.activity_base == "https://tool.example.org/xapi"
    assert (settings.actor_email, settings.lab_text) == (False, False)


def test_the_tools_lrs_comes_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "TRACEBOOK_DATA_DIR": str(tmp_path),
            "TRACEBOOK_LRS_ENDPOINT": "https://lrs.example.org/xAPI/",
            "TRACEBOOK_LRS_USERNAME": "tool",
            "TRACEBOOK_LRS_PASSWORD": "s3cret",
            "TRACEBOOK_XAPI_VERSION": "2.0.0",
            "TRACEBOOK_XAPI_ACTIVITY_BASE": "https://ids.example.org/courses/",
        },
        dotenv_path=None,
    ).xapi
    assert LrsDirectory(settings).default == Lrs("https://lrs.example.org/xAPI", "tool", "s3cret")
    assert settings.version == "2.0.0"
    assert settings.activity_base == "https://ids.example.org/courses"
    assert "s3cret" not in repr(settings)


def test_bad_lrs_settings_are_named_and_the_password_never_echoed(tmp_path: Path) -> None:
    environ = {
        "TRACEBOOK_DATA_DIR": str(tmp_path),
        "TRACEBOOK_LRS_ENDPOINT": "lrs.example.org",
        "TRACEBOOK_LRS_PASSWORD": "s3cret",
        "TRACEBOOK_XAPI_VERSION": "1.0",
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, dotenv_path=None)
    assert raised.value.problems == [
        "TRACEBOOK_LRS_ENDPOINT: Not a valid URL. (got 'lrs.example.org')",
        "TRACEBOOK_XAPI_VERSION: Must be one of: 1.0.3, 2.0.0. (got '1.0')",
    ]
    del environ["TRACEBOOK_LRS_ENDPOINT"], environ["TRACEBOOK_XAPI_VERSION"]
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, dotenv_path=None)
    assert raised.value.problems == [
        "TRACEBOOK_LRS_USERNAME: must be set with the other half of the LRS's basic-auth credentials"
    ]


STATEMENT = {
    "id": "6f1c1f43-6e0d-5d3e-9a43-1d1c2d0f8a11",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.test", "name": "s1"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {"objectType": "Activity", "id": "https://tool.test/xapi/q1"},
    "result": {"response": "a", "success": True},
    "timestamp": "2026-11-28T09:30:00.250Z",
}


def test_what_an_lrs_adds_or_reserialises_is_not_a_difference() -> None:
    theirs = {
        **STATEMENT,
        "timestamp": "2026-11-28T10:30:00.250+01:00",
        "stored": "2026-11-28T09:31:00Z",
        "authority": {"objectType": "Agent", "mbox": "mailto:lrs@example.org"},
        "version": "1.0.3",
    }
    assert differences(STATEMENT, theirs) == []
    untimed = {k: v for k, v in STATEMENT.items() if k != "timestamp"}
    assert differences(untimed, theirs) == []  # a timestamp the LRS set itself


def test_a_changed_result_or_time_is_a_difference() -> None:
    theirs = {**STATEMENT, "result": {"response": "b", "success": False}, "timestamp": "2026-11-28T09:30:01Z"}
    assert differences(STATEMENT, theirs) == ["result", "timestamp"]
