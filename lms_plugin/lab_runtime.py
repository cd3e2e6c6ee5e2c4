"""The labs' model, chosen once at start-up from the settings: the offline scenario tutor, or an
OpenAI-compatible model that falls back to the tutor whenever the provider fails. Either way every model call
is a GenAI span."""

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app

from labs.chat import ChatModel
from labs.fallback import FallbackChat
from labs.openai_chat import OpenAIChat, OpenAISettings
from labs.pricing import PriceTable
from labs.session import Limits
from labs.tracing import GenAITelemetry, TracedModel, content_capture
from labs.tutor import ScenarioTutor
from lms_plugin.config import Settings
from lms_plugin.telemetry import Telemetry

OFFLINE_REPLY_DEADLINE = timedelta(minutes=1)


@dataclass(frozen=True)
class LabRuntime:
    model: ChatModel
    limits: Limits
    telemetry: Telemetry
    reply_deadline: timedelta  # longer than the slowest reply the model settings allow


def build(settings: Settings, telemetry: Telemetry) -> LabRuntime:
    prices = PriceTable.from_json(settings.labs.prices) if settings.labs.prices else PriceTable()
    genai = GenAITelemetry(telemetry.tracer("tracebook.labs"), prices, content_capture(settings.genai_capture))
    tutor = ScenarioTutor()
    offline = TracedModel(tutor, genai)
    model: ChatModel = offline
    reply_deadline = OFFLINE_REPLY_DEADLINE
    if settings.llm is not None:
        llm = settings.llm
        primary = OpenAIChat(
            OpenAISettings(
                base_url=llm.base_url,
                api_key=llm.api_key,
                model=llm.model,
                provider=llm.provider,
                include_usage=llm.include_usage,
                timeout_s=llm.timeout,
                max_retries=llm.max_retries,
                max_output_tokens=llm.max_output_tokens,
            ),
            genai,
            tutor.judge,
        )
        model = FallbackChat(primary, offline)
        # The reply and the judge, each tried 1 + max_retries times, each attempt up to the timeout.
        reply_deadline = timedelta(seconds=2 * (llm.max_retries + 1) * llm.timeout) + OFFLINE_REPLY_DEADLINE
    limits = Limits(
        max_message_chars=settings.labs.max_message_chars,
        exchanges_per_hour=settings.labs.exchanges_per_hour,
        tokens_per_lab=settings.labs.tokens_per_lab,
    )
    return LabRuntime(model, limits, telemetry, reply_deadline)


def init_app(app: Flask, settings: Settings, telemetry: Telemetry) -> None:
    app.extensions["tracebook.labs"] = build(settings, telemetry)


def runtime() -> LabRuntime:
    value: LabRuntime = current_app.extensions["tracebook.labs"]
    return value
