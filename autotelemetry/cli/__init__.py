"""The `autotelemetry` command (tool side): see what is recorded, decide what is, run things.

One module per command family; :mod:`~autotelemetry.cli.app` assembles them.
The commands are thin: what they do lives in the domain modules
(:mod:`autotelemetry.status`, :mod:`autotelemetry.consent`,
:mod:`autotelemetry.store`, :mod:`autotelemetry.report`,
:mod:`autotelemetry.sender`, :mod:`autotelemetry.doctor`).

`autotelemetry run` is dispatched here before Click is imported, so
instrumenting one invocation costs nothing extra.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"] and args[1:2] not in (["--help"], ["-h"], []):
        from autotelemetry.cli import run

        run.main(args[1:])
        return
    from autotelemetry.cli.app import cli

    cli.main(args=args, prog_name="autotelemetry")


__all__ = ["main"]
