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


def request(events: list[dict], dropped: dict[str, int]) -> dict[str, object]:
    payload: dict[str, object] = {"events": events}
    if dropped:
        payload["dropped"] = dropped
    return payload


def encode_data(data: dict[str, object]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def encode(events: list[dict], dropped: dict[str, int]) -> bytes:
    return encode_data(request(events, dropped))
