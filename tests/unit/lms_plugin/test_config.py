"""Settings: defaults that work with nothing set, and one clear message per bad value."""

from pathlib import Path

import pytest

from lms_plugin.config import ConfigError, load_settings


def test_embedded_defaults_need_no_settings(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRACEBOOK_DATA_DIR": str(tmp_path)}, dotenv_path=None)
    assert settings.env == "demo"
    assert settings.database_url == f"sqlite:///{tmp_path / 'tracebook.sqlite3'}"
    assert len(settings.secret_key) >= 32
    # Generated once and kept, so signed tokens survive a restart.
    assert load_settings(environ={"TRACEBOOK_DATA_DIR": str(tmp_path)}, dotenv_path=None).secret_key == (
        settings.secret_key
    )
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_every_bad_value_is_reported_at_once_with_its_name(tmp_path: Path) -> None:
    environ = {
        "TRACEBOOK_DATA_DIR": str(tmp_path),
        "TRACEBOOK_PORT": "eighty",
        "TRACEBOOK_ENV": "prod",
        "TRACEBOOK_DATABASE_URL": "mysql://x",
        "TRACEBOOK_SECRET_KEY": "short",
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, dotenv_path=None)
    assert raised.value.problems == [
        "TRACEBOOK_DATABASE_URL: must be a sqlite:/// or postgresql+psycopg:// URL (got 'mysql://x')",
        "TRACEBOOK_ENV: Must be one of: demo, development, test, production. (got 'prod')",
        "TRACEBOOK_PORT: must be a whole number (got 'eighty')",
        "TRACEBOOK_SECRET_KEY: must be at least 32 characters",
    ]


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TRACEBOOK_SECRET_KEY: must be set in production"):
        load_settings(environ={"TRACEBOOK_ENV": "production", "TRACEBOOK_DATA_DIR": str(tmp_path)}, dotenv_path=None)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TRACEBOOK_PORT=9001\nTRACEBOOK_HOST=0.0.0.0\nTRACEBOOK_DATA_DIR={tmp_path}\n")
    settings = load_settings(environ={"TRACEBOOK_PORT": "9002"}, dotenv_path=dotenv)
    assert (settings.host, settings.port) == ("0.0.0.0", 9002)


def test_plain_postgresql_urls_use_psycopg(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"TRACEBOOK_DATABASE_URL": "postgresql://u@db/tb", "TRACEBOOK_DATA_DIR": str(tmp_path)},
        dotenv_path=None,
    )
    assert settings.database_url == "postgresql+psycopg://u@db/tb"


def test_certificates_and_retention_have_defaults_and_checked_values(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRACEBOOK_DATA_DIR": str(tmp_path)}, dotenv_path=None)
    assert (settings.certificates.page_size, settings.certificates.issuer_name) == ("A4", "Tracebook")
    assert settings.certificates.storage_dir == tmp_path.resolve() / "storage"
    assert (settings.retention.lab_transcript_days, settings.retention.span_days) == (365, 90)
    assert settings.retention.outbox_days == 30
    environ = {
        "TRACEBOOK_DATA_DIR": str(tmp_path),
        "TRACEBOOK_CERTIFICATE_PAGE_SIZE": "A3",
        "TRACEBOOK_RETENTION_SPAN_DAYS": "0",
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, dotenv_path=None)
    assert raised.value.problems == [
        "TRACEBOOK_CERTIFICATE_PAGE_SIZE: Must be one of: A4, Letter. (got 'A3')",
        "TRACEBOOK_RETENTION_SPAN_DAYS: must be from 1 to 36500 days (got '0')",
    ]
