"""`autotelemetry report`: the usage summary a CLI maintainer reads every week.

* :mod:`~autotelemetry.report.build`: the report as plain data (``--json``),
  summed from the store's grouped queries;
* :mod:`~autotelemetry.report.stats`: weights, percentiles, version order and
  the regression rule;
* :mod:`~autotelemetry.report.text`: the text rendering;
* :mod:`~autotelemetry.report.html`: the self-contained HTML page (``--html``);
* :mod:`~autotelemetry.report.inputs`: events from files (``--input``: OTLP/JSON
  lines as a collector's file exporter writes them, or ``events --json``).

Tool side only: host CLIs never import it.
"""

from __future__ import annotations

from autotelemetry.report.build import STATUSES, build, build_empty
from autotelemetry.report.text import empty_message, render

__all__ = ["STATUSES", "build", "build_empty", "empty_message", "render"]
