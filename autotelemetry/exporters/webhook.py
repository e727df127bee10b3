"""JSON webhook: ``{"events": [...]}`` with the events exactly as the schema defines them.

A ``"dropped"`` object (reason → count) is added when events were dropped or
evicted since the last delivered batch.
"""

from __future__ import annotations

import json

CONTENT_TYPE = "application/json"


def url(endpoint: str) -> str:
    """The endpoint is used as given."""
    return endpoint


def encode(events: list[dict], dropped: dict[str, int]) -> bytes:
    payload: dict[str, object] = {"events": events}
    if dropped:
        payload["dropped"] = dropped
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")
