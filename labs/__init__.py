"""AI labs: lab sessions, the chat models behind one interface (an OpenAI-compatible client and the
offline scenario tutor) and GenAI tracing. The only package that imports ``openai``."""
