"""Wire formats for the sender: OTLP/HTTP (logs and traces; protobuf or JSON) and a
plain JSON webhook.

:func:`payload` turns stored events into the body of one request of a channel
(:class:`autotelemetry.otel.Channel`): a log record per event, a span per run, or the
webhook's ``{"events": [...]}``. ``dropped`` maps a reason to the number of events
dropped or evicted since the last delivered batch, so the receiving side sees the loss
(carried by the logs and the webhook; spans carry none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROTOCOLS = ("otlp", "http/protobuf", "http/json", "json")


@dataclass
class Payload:
    """One request body (before compression) and what it holds."""

    body: bytes
    items: int  # log records (drop record included), spans, or webhook events
    message: Any = None  # the protobuf message (OTLP) or the JSON data (webhook)
    carried: bool = False  # whether it reports the drop counts

    def as_json(self) -> Any:
        """What is sent, as JSON data (protobuf decoded into the OTLP/JSON mapping)."""
        if isinstance(self.message, (dict, list)):
            return self.message
        from autotelemetry.exporters import otlp

        return otlp.to_json(self.message)


def payload(
    signal: str,
    encoding: str,
    events: list[dict],
    dropped: dict[str, int],
    resource: dict[str, str] | None = None,
) -> Payload | None:
    """The request for ``events`` on ``signal``; ``None`` when it would hold nothing
    (a batch of crash events has no span)."""
    if signal == "events":
        from autotelemetry.exporters import webhook

        data = webhook.request(events, dropped)
        return Payload(webhook.encode_data(data), len(events), data, carried=bool(dropped))
    from autotelemetry.exporters import otlp

    if signal == "traces":
        message: Any = otlp.traces_request(events, resource)
        carried = False
    else:
        message = otlp.logs_request(events, dropped, resource)
        carried = bool(dropped)
    items = otlp.count(message)
    if not items:
        return None
    return Payload(otlp.encode(message, encoding), items, message, carried)


__all__ = ["PROTOCOLS", "Payload", "payload"]
