"""The app's tracing: one tracer provider per app (never the process-global one, so two apps in one process —
a test session, the emulator beside the tool — keep their spans apart), Flask request spans, the collector
that keeps lab spans for the "Your trace" view, and OTLP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""

from dataclasses import dataclass

from flask import Flask, current_app
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from labs.tracing import SpanCollector, configure_tracing

SERVICE_NAME = "tracebook"


@dataclass(frozen=True)
class Telemetry:
    provider: TracerProvider
    collector: SpanCollector

    def tracer(self, name: str) -> Tracer:
        return self.provider.get_tracer(name)


def init_app(app: Flask, otlp_endpoint: str | None) -> Telemetry:
    collector = SpanCollector()
    telemetry = Telemetry(configure_tracing(SERVICE_NAME, otlp_endpoint, collector), collector)
    FlaskInstrumentor().instrument_app(app, tracer_provider=telemetry.provider)
    app.extensions["tracebook.telemetry"] = telemetry
    return telemetry


def telemetry() -> Telemetry:
    value: Telemetry = current_app.extensions["tracebook.telemetry"]
    return value
