"""Wire formats for the sender: OTLP/HTTP JSON logs (default) and a plain JSON webhook.

Each exporter module offers ``url(endpoint) -> str`` and
``encode(events, dropped) -> bytes``; ``dropped`` maps a reason to the
number of events dropped or evicted since the last delivered batch, so the
receiving side can see the loss.
"""

from __future__ import annotations

from types import ModuleType

PROTOCOLS = ("otlp", "json")


def get(protocol: str) -> ModuleType:
    """The exporter module for ``protocol`` (``otlp`` or ``json``)."""
    if protocol == "json":
        from autotelemetry.exporters import webhook

        return webhook
    if protocol == "otlp":
        from autotelemetry.exporters import otlp

        return otlp
    raise ValueError(f"unknown protocol {protocol!r} (expected one of {', '.join(PROTOCOLS)})")
