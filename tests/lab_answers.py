"""Learner messages the offline tutor must credit, shared by the tutor's unit tests and the browser tests that
complete each lab: a right diagnosis of each Lab 1 scenario, and one good answer per design-lab topic."""

# Lab 1: scenario id → a right diagnosis of its planted fault.
RIGHT = {
    "slow-cache": "redis_get takes 408 ms for a cache hit that should take a millisecond, and it runs before the LLM "
    "call starts, so the model is not the problem.",
    "truncation": "llm_completion stopped because finish_reasons is length: the output tokens hit max_tokens of 256, "
    "so the answer was cut off mid-sentence.",
    "missing-usage": "The llm_completion span has no gen_ai.usage input or output tokens, so the cost dashboard has "
    "nothing to multiply by the price and shows $0.",
    "retry-storm": "There are five llm_completion spans with the same app.prompt.sha256 hash; the first four are 429 "
    "errors retried immediately with no backoff, which makes the rate limiting worse.",
    "masked-retrieval-error": "vector_search has status ERROR with DEADLINE_EXCEEDED, but retrieve_user_context "
    "swallowed it, so the prompt had no context and the LLM gave a generic answer while the user saw HTTP 200.",
    "broken-parent": "The POST /search spans sit in a separate trace with a different trace id and a null parent span "
    "id, because the traceparent header was not propagated by the HTTP client.",
}

# Realistic learner answers, one per topic, written with the labs' data (each ticks exactly its topic).
SAMPLES: dict[str, list[tuple[str, str]]] = {
    "lab-2": [
        (
            "library-selection",
            "We use LangChain for the RAG part, so I'd probably go with OpenInference from Arize since it covers "
            "LangChain plus both OpenAI and Anthropic, even if its convention support is only partial.",
        ),
        (
            "sampling-configuration",
            "My plan: AlwaysOn in staging, but in production tail sampling that keeps errors and anything slower "
            "than the p99.",
        ),
        (
            "pii-handling",
            "For PII I'd put a redaction step in the collector pipeline that masks emails and phone numbers "
            "before export.",
        ),
    ],
    "lab-3": [
        (
            "cost-attribution",
            "The gpt-4o price is $2.50 per million input tokens and $10 per million output, so I'd compute "
            "cost_usd on the span with the tenant_id.",
        ),
        (
            "pii-handling",
            "For GDPR I'd keep prompts out of spans: only a sha256 hash goes on the span and the text lives in a "
            "separate store with per-customer keys that we can crypto-shred.",
        ),
        (
            "streaming-instrumentation",
            "I'd keep the span open until the last chunk and read usage from the final chunk by setting include_usage.",
        ),
    ],
    "lab-4": [
        (
            "tool-selection",
            "We'd keep Datadog for infra and APM, it's where our alerts live, and add Langfuse self-hosted for "
            "evals and prompt versioning since Datadog can't diff prompts.",
        ),
        (
            "integration",
            "We'd instrument both OpenAI and Anthropic with the OTel GenAI instrumentation libraries and send "
            "OTLP to an OTel Collector that fans out to Datadog and Langfuse, so the same trace ID shows up in "
            "both.",
        ),
        (
            "hipaa-constraints",
            "The data flow worries me: Helicone would be a third-party proxy in the request path, so I'd check "
            "with our compliance team about vendor agreements before sending any patient data anywhere.",
        ),
    ],
}
