"""Settings from ``TRACEBOOK_*`` environment variables (optionally a ``.env`` file), validated at start-up.

Every bad value is reported at once, each with the variable's name, what was wrong and what it got, so an
admin fixes a deployment in one pass. The README's settings table lists the same variables.
"""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from exports.certificates import PAGE_SIZES

PREFIX = "TRACEBOOK_"
ENVIRONMENTS = ("demo", "development", "test", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
XAPI_VERSIONS = ("1.0.3", "2.0.0")
MIN_SECRET_KEY_LENGTH = 32
_SECRET_KEY_FILE = "secret_key"
SECRETS = ("SECRET_KEY", "LLM_API_KEY", "LRS_PASSWORD")  # never echoed in an error message
# OpenTelemetry's own variables, read as the OTel SDKs read them (no TRACEBOOK_ prefix).
OTEL_KEYS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")


class ConfigError(Exception):
    """One or more settings are invalid; ``problems`` has one readable line per setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class LlmSettings:
    """An OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, LiteLLM)."""

    base_url: str
    api_key: str
    model: str
    provider: str  # gen_ai.provider.name: openai, azure.ai.openai, ollama, …
    include_usage: bool  # some servers reject stream_options.include_usage
    timeout: float
    max_retries: int
    max_output_tokens: int


@dataclass(frozen=True)
class LabSettings:
    max_message_chars: int
    exchanges_per_hour: int
    tokens_per_lab: int
    prices: str | None  # JSON price table overriding the built-in one


@dataclass(frozen=True)
class XapiSettings:
    """Learning records (xAPI) and the Learning Record Store they go to; each platform may name its own LRS."""

    lrs_endpoint: str | None  # None: statements wait in the outbox until an LRS is configured
    lrs_username: str | None
    lrs_password: str | None = field(repr=False)
    version: str  # the X-Experience-API-Version header: 1.0.3, or 2.0.0 for an LRS of that version
    lrs_timeout: float
    activity_base: str  # the IRI prefix of every activity id and extension key
    actor_email: bool  # identify learners by e-mail (mbox) instead of their LMS account (issuer, sub)
    lab_text: bool  # lab messages and replies in the statements; otherwise only their SHA-256


@dataclass(frozen=True)
class CertificateSettings:
    """Certificates for passing the module test: the PDF's page and where PDFs are stored."""

    page_size: str  # A4 or Letter, landscape
    issuer_name: str  # the issuing organisation named on certificates and in the credential
    storage_dir: Path  # rendered PDFs


@dataclass(frozen=True)
class RetentionSettings:
    """How long learner data that is only kept for review is kept, in days; the worker purges daily."""

    lab_transcript_days: int
    span_days: int
    outbox_days: int  # delivered (and superseded) outbox rows


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str
    secret_key: str
    host: str
    port: int
    web_workers: int
    web_threads: int
    log_level: str
    base_url: str
    lti_leeway: int
    session_lifetime: int
    emulator: bool
    emulator_url: str
    llm: LlmSettings | None  # None: the offline scenario tutor answers
    labs: LabSettings
    otlp_endpoint: str | None
    genai_capture: str
    xapi: XapiSettings
    certificates: CertificateSettings
    retention: RetentionSettings

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def _database_url(value: str) -> None:
    if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
        raise ValidationError("must be a sqlite:/// or postgresql+psycopg:// URL")


class _SettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the process environment holds much more than our settings

    env = fields.String(load_default="demo", validate=validate.OneOf(ENVIRONMENTS), data_key="ENV")
    data_dir = fields.String(load_default="var", validate=validate.Length(min=1), data_key="DATA_DIR")
    database_url = fields.String(load_default=None, validate=_database_url, data_key="DATABASE_URL")
    secret_key = fields.String(
        load_default=None,
        validate=validate.Length(
            min=MIN_SECRET_KEY_LENGTH, error=f"must be at least {MIN_SECRET_KEY_LENGTH} characters"
        ),
        data_key="SECRET_KEY",
    )
    host = fields.String(load_default="127.0.0.1", validate=validate.Length(min=1), data_key="HOST")
    port = fields.Integer(
        load_default=8000,
        validate=validate.Range(min=1, max=65535, error="must be a port number from 1 to 65535"),
        data_key="PORT",
    )
    web_workers = fields.Integer(
        load_default=2, validate=validate.Range(min=1, max=64, error="must be from 1 to 64"), data_key="WEB_WORKERS"
    )
    web_threads = fields.Integer(
        load_default=16, validate=validate.Range(min=1, max=256, error="must be from 1 to 256"), data_key="WEB_THREADS"
    )
    log_level = fields.String(load_default="INFO", validate=validate.OneOf(LOG_LEVELS), data_key="LOG_LEVEL")
    base_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"}, data_key="BASE_URL")
    lti_leeway = fields.Integer(
        load_default=60,
        validate=validate.Range(min=0, max=600, error="must be from 0 to 600 seconds"),
        data_key="LTI_LEEWAY",
    )
    session_lifetime = fields.Integer(
        load_default=4 * 3600,
        validate=validate.Range(min=60, max=7 * 86400, error="must be from 60 seconds to 7 days"),
        data_key="SESSION_LIFETIME",
    )
    emulator = fields.Boolean(load_default=None, data_key="EMULATOR")
    emulator_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"}, data_key="EMULATOR_URL")
    llm_base_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"}, data_key="LLM_BASE_URL")
    llm_api_key = fields.String(load_default=None, data_key="LLM_API_KEY")
    llm_model = fields.String(load_default=None, validate=validate.Length(min=1), data_key="LLM_MODEL")
    llm_provider = fields.String(load_default="openai", validate=validate.Length(min=1), data_key="LLM_PROVIDER")
    llm_include_usage = fields.Boolean(load_default=True, data_key="LLM_INCLUDE_USAGE")
    llm_timeout = fields.Float(
        load_default=30.0,
        validate=validate.Range(min=0.1, max=600, error="must be from 0.1 to 600 seconds"),
        data_key="LLM_TIMEOUT",
    )
    llm_max_retries = fields.Integer(
        load_default=2, validate=validate.Range(min=0, max=10, error="must be from 0 to 10"), data_key="LLM_MAX_RETRIES"
    )
    llm_max_output_tokens = fields.Integer(
        load_default=1024,
        validate=validate.Range(min=16, max=100_000, error="must be from 16 to 100000"),
        data_key="LLM_MAX_OUTPUT_TOKENS",
    )
    llm_prices = fields.String(load_default=None, data_key="LLM_PRICES")
    lab_max_message_chars = fields.Integer(
        load_default=2000,
        validate=validate.Range(min=50, max=20_000, error="must be from 50 to 20000"),
        data_key="LAB_MAX_MESSAGE_CHARS",
    )
    lab_exchanges_per_hour = fields.Integer(
        load_default=30,
        validate=validate.Range(min=1, max=10_000, error="must be from 1 to 10000"),
        data_key="LAB_EXCHANGES_PER_HOUR",
    )
    lab_tokens_per_lab = fields.Integer(
        load_default=60_000,
        validate=validate.Range(min=1000, max=10_000_000, error="must be from 1000 to 10000000"),
        data_key="LAB_TOKENS_PER_LAB",
    )
    lrs_endpoint = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"}, data_key="LRS_ENDPOINT")
    lrs_username = fields.String(load_default=None, validate=validate.Length(min=1), data_key="LRS_USERNAME")
    lrs_password = fields.String(load_default=None, data_key="LRS_PASSWORD")
    lrs_timeout = fields.Float(
        load_default=30.0,
        validate=validate.Range(min=0.1, max=600, error="must be from 0.1 to 600 seconds"),
        data_key="LRS_TIMEOUT",
    )
    xapi_version = fields.String(load_default="1.0.3", validate=validate.OneOf(XAPI_VERSIONS), data_key="XAPI_VERSION")
    xapi_activity_base = fields.Url(
        load_default=None, require_tld=False, schemes={"http", "https"}, data_key="XAPI_ACTIVITY_BASE"
    )
    xapi_actor_email = fields.Boolean(load_default=False, data_key="XAPI_ACTOR_EMAIL")
    xapi_lab_text = fields.Boolean(load_default=False, data_key="XAPI_LAB_TEXT")
    certificate_page_size = fields.String(
        load_default="A4", validate=validate.OneOf(tuple(PAGE_SIZES)), data_key="CERTIFICATE_PAGE_SIZE"
    )
    certificate_issuer = fields.String(
        load_default="Tracebook", validate=validate.Length(min=1, max=255), data_key="CERTIFICATE_ISSUER"
    )
    storage_dir = fields.String(load_default=None, validate=validate.Length(min=1), data_key="STORAGE_DIR")
    retention_lab_transcript_days = fields.Integer(
        load_default=365,
        validate=validate.Range(min=1, max=36_500, error="must be from 1 to 36500 days"),
        data_key="RETENTION_LAB_TRANSCRIPT_DAYS",
    )
    retention_span_days = fields.Integer(
        load_default=90,
        validate=validate.Range(min=1, max=36_500, error="must be from 1 to 36500 days"),
        data_key="RETENTION_SPAN_DAYS",
    )
    retention_outbox_days = fields.Integer(
        load_default=30,
        validate=validate.Range(min=1, max=36_500, error="must be from 1 to 36500 days"),
        data_key="RETENTION_OUTBOX_DAYS",
    )
    otlp_endpoint = fields.Url(
        load_default=None, require_tld=False, schemes={"http", "https"}, data_key="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    genai_capture = fields.String(
        load_default="NO_CONTENT",
        validate=validate.OneOf(("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT", "true", "false")),
        data_key="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    )

    @validates_schema
    def _production_rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("env") != "production":
            return
        errors = {}
        if not data.get("secret_key"):
            errors["SECRET_KEY"] = ["must be set in production (a random string of 32+ characters)"]
        if data.get("emulator"):
            errors["EMULATOR"] = ["the LMS emulator cannot run in production"]
        if not data.get("base_url"):
            errors["BASE_URL"] = ["must be set in production (the https URL LMSs reach the tool at)"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _llm_rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("llm_base_url") and not data.get("llm_model"):
            raise ValidationError({"LLM_MODEL": ["must be set with TRACEBOOK_LLM_BASE_URL (the model to ask)"]})

    @validates_schema
    def _lrs_rules(self, data: dict[str, Any], **_: Any) -> None:
        # Basic auth needs both halves; a password alone would be sent nowhere.
        if bool(data.get("lrs_username")) != bool(data.get("lrs_password")):
            missing = "LRS_PASSWORD" if data.get("lrs_username") else "LRS_USERNAME"
            raise ValidationError({missing: ["must be set with the other half of the LRS's basic-auth credentials"]})


def _messages(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, messages in sorted(error.normalized_messages().items()):
        got = f" (got {raw[key]!r})" if key in raw and key not in SECRETS else ""
        name = key if key in OTEL_KEYS else PREFIX + key
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        if text == "Not a valid integer.":
            text = "must be a whole number"
        problems.append(f"{name}: {text}{got}")
    return problems


def _stored_secret(data_dir: Path) -> str:
    """Outside production an unset key is generated once and kept in the data folder, so tokens survive restarts."""
    path = data_dir / _SECRET_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key, encoding="utf-8")
    return key


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv_path: Path | None = Path(".env"),
) -> Settings:
    """Settings from (lowest first) the ``.env`` file, the environment, then ``overrides`` (names without prefix)."""
    raw: dict[str, Any] = {}
    sources: list[Mapping[str, Any]] = []
    if dotenv_path is not None and dotenv_path.is_file():
        sources.append({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    sources.append(os.environ if environ is None else environ)
    for source in sources:
        raw.update({k[len(PREFIX) :]: v for k, v in source.items() if k.startswith(PREFIX)})
        raw.update({k: v for k, v in source.items() if k in OTEL_KEYS})
    raw.update({k.upper(): v for k, v in (overrides or {}).items()})
    try:
        data = _SettingsSchema().load(raw)
    except ValidationError as error:
        raise ConfigError(_messages(error, raw)) from None

    data_dir = Path(data["data_dir"]).resolve()
    database_url = data["database_url"] or f"sqlite:///{data_dir / 'tracebook.sqlite3'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    base_url = (data["base_url"] or f"http://{data['host']}:{data['port']}").rstrip("/")
    emulator = data["emulator"] if data["emulator"] is not None else data["env"] != "production"
    # The emulator answers on another host name than the tool, so a launch is cross-site as in a real LMS.
    emulator_url = (data["emulator_url"] or f"http://localhost:{data['port']}/emulator").rstrip("/")
    return Settings(
        env=data["env"],
        data_dir=data_dir,
        database_url=database_url,
        secret_key=data["secret_key"] or _stored_secret(data_dir),
        host=data["host"],
        port=data["port"],
        web_workers=data["web_workers"],
        web_threads=data["web_threads"],
        log_level=data["log_level"],
        base_url=base_url,
        lti_leeway=data["lti_leeway"],
        session_lifetime=data["session_lifetime"],
        emulator=emulator,
        emulator_url=emulator_url,
        llm=LlmSettings(
            base_url=data["llm_base_url"],
            api_key=data["llm_api_key"] or "unused",  # local servers (Ollama, vLLM) need none; the client needs one
            model=data["llm_model"],
            provider=data["llm_provider"],
            include_usage=data["llm_include_usage"],
            timeout=data["llm_timeout"],
            max_retries=data["llm_max_retries"],
            max_output_tokens=data["llm_max_output_tokens"],
        )
        if data["llm_base_url"]
        else None,
        labs=LabSettings(
            max_message_chars=data["lab_max_message_chars"],
            exchanges_per_hour=data["lab_exchanges_per_hour"],
            tokens_per_lab=data["lab_tokens_per_lab"],
            prices=data["llm_prices"],
        ),
        otlp_endpoint=data["otlp_endpoint"],
        genai_capture=data["genai_capture"],
        xapi=XapiSettings(
            lrs_endpoint=data["lrs_endpoint"].rstrip("/") if data["lrs_endpoint"] else None,
            lrs_username=data["lrs_username"],
            lrs_password=data["lrs_password"],
            version=data["xapi_version"],
            lrs_timeout=data["lrs_timeout"],
            activity_base=(data["xapi_activity_base"] or f"{base_url}/xapi").rstrip("/"),
            actor_email=data["xapi_actor_email"],
            lab_text=data["xapi_lab_text"],
        ),
        certificates=CertificateSettings(
            page_size=data["certificate_page_size"],
            issuer_name=data["certificate_issuer"],
            storage_dir=Path(data["storage_dir"]).resolve() if data["storage_dir"] else data_dir / "storage",
        ),
        retention=RetentionSettings(
            lab_transcript_days=data["retention_lab_transcript_days"],
            span_days=data["retention_span_days"],
            outbox_days=data["retention_outbox_days"],
        ),
    )
