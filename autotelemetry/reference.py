"""The configuration reference, rendered from the option table into the docs.

``python -m autotelemetry.reference`` (``make docs``) rewrites the tables
between ``<!-- options:NAME:begin -->`` and ``<!-- options:NAME:end -->``
markers in docs/configuration.md and docs/delivery.md; a test fails when a doc
and the table disagree, so the docs cannot drift from what the code reads.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from autotelemetry.hook.options import KINDS, OPTIONS


class Option(NamedTuple):
    """A row of the option table with its fields named (the host side keeps plain tuples)."""

    name: str
    variable: str | None
    kind: str
    default: object
    file: bool
    per_cli: bool
    choices: tuple[str, ...]
    doc: str


#: The option table, with its fields named.
ROWS = [Option(*row) for row in OPTIONS]

#: Options of the delivery path (docs/delivery.md repeats them).
DELIVERY = (
    "endpoint",
    "protocol",
    "signals",
    "headers",
    "ca_bundle",
    "client_certificate",
    "client_key",
    "timeout",
    "compression",
    "send_budget",
    "send_interval",
    "batch_events",
    "retry_base",
    "retry_max",
    "spool_max_bytes",
    "spool_max_files",
    "spool_max_age",
    "store_max_events",
    "store_max_bytes",
)


def _default(option: Option) -> str:
    value = option.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if option.kind in ("seconds", "seconds0"):
        seconds = float(value)  # type: ignore[arg-type]
        if seconds >= 86400 and seconds % 86400 == 0:
            return f"{seconds / 86400:g} days"
        return f"{seconds:g} s"
    if option.name.endswith("_bytes") and isinstance(value, int) and value % (1 << 20) == 0:
        return f"{value >> 20} MiB"
    return f"`{value}`"


def _type(option: Option) -> str:
    if option.kind == "choice":
        return " / ".join(f"`{c}`" for c in option.choices)
    return KINDS[option.kind]


def _where(option: Option) -> str:
    places = []
    if option.variable:
        places.append(f"`{option.variable}`")
    if option.file:
        places.append("config file" + (", per CLI" if option.per_cli else ""))
    return "; ".join(places)


def table(select: Callable[[Option], bool]) -> str:
    """One markdown table of the options ``select`` keeps, in table order."""
    rows = [
        "| setting | set by | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for option in ROWS:
        if select(option):
            rows.append(
                f"| `{option.name}` | {_where(option)} | {_type(option)} | {_default(option)} "
                f"| {option.doc} |"
            )
    return "\n".join(rows)


#: Marker name -> which options its table lists.
TABLES: dict[str, Callable[[Option], bool]] = {
    "settings": lambda o: o.file,
    "variables": lambda o: not o.file and not o.doc.startswith("set by us"),
    "internal": lambda o: o.doc.startswith("set by us"),
    "delivery": lambda o: o.name in DELIVERY,
}

DOCS = ("docs/configuration.md", "docs/delivery.md")


def render(text: str) -> str:
    """``text`` with every options table between its markers regenerated."""
    for name, select in TABLES.items():
        begin, end = f"<!-- options:{name}:begin -->", f"<!-- options:{name}:end -->"
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
        block = begin + "\n" + table(select) + "\n" + end
        text = pattern.sub(block.replace("\\", "\\\\"), text)
    return text


def main(root: str = ".") -> int:
    for doc in DOCS:
        path = Path(root, doc)
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
