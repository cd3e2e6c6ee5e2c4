"""Gradebook sync (LTI Assignment and Grade Services 2.0): scores queued in the outbox, sent by the worker."""
