"""The `autotelemetry` command (tool side): see what is recorded, decide what is, run things.

One module per command family; :mod:`~autotelemetry.cli.app` assembles them.
The commands are thin: what they do lives in the domain modules
(:mod:`autotelemetry.status`, :mod:`autotelemetry.consent`,
:mod:`autotelemetry.store`, :mod:`autotelemetry.report`,
:mod:`autotelemetry.sender`, :mod:`autotelemetry.doctor`).

`autotelemetry run` is dispatched here before Click is imported, so
instrumenting one invocation costs nothing extra.

:func:`main` is the one error boundary: a read-only home, a full disk, a file that
is not ours or a corrupt one ends any subcommand with one line on stderr and exit
status 1, never a traceback (``AUTOTELEMETRY_DEBUG=1`` shows it).
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

    try:
        cli.main(args=args, prog_name="autotelemetry")
    except BrokenPipeError:  # `autotelemetry events | head`: the reader has all it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as exc:  # the one boundary: everything click itself does not handle
        from autotelemetry.hook import config

        if config.debug_enabled():
            raise
        command = next((a for a in args if not a.startswith("-")), "")
        sys.stderr.write(f"autotelemetry{' ' + command if command else ''}: {failure(exc)}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None


def failure(exc: BaseException) -> str:
    """One line for what stopped a command: which file, what happened, the fix if known."""
    from autotelemetry.hook import fs

    if isinstance(exc, OSError) and exc.errno == fs.REFUSED:
        from autotelemetry import trust

        return trust.explain(exc)
    if isinstance(exc, OSError):
        where = f"{_final_name(exc.filename)}: " if exc.filename else ""
        hint = {
            "EACCES": "permission denied (is the home read-only?)",
            "EROFS": "read-only file system",
            "ENOSPC": "no space left on the device",
            "EDQUOT": "disk quota exceeded",
            "EFBIG": "file too large (a file size limit or a full disk)",
        }
        import errno

        name = errno.errorcode.get(exc.errno or 0, "")
        return where + hint.get(name, exc.strerror or str(exc) or type(exc).__name__)
    from autotelemetry.store import failure as store_failure

    store_problem = store_failure(exc)
    if store_problem is not None:
        return store_problem
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


def _final_name(path: object) -> str:
    """The file a temporary name stands for: ``.allowlist.<random>.tmp`` → ``allowlist``."""
    import os

    directory, name = os.path.split(str(path))
    if name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3:
        name = name[1:].rsplit(".", 2)[0]
    return os.path.join(directory, name)


__all__ = ["failure", "main"]
