"""The one-time notice before events first leave the machine (SPEC law 6).

Called by :func:`autotelemetry.recorder.flush` at exit, only when an endpoint
is configured (local-only recording needs no notice). It is printed to stderr
(never stdout), only when stderr is a terminal, once per user account: a
marker file ``<home>/notice_shown`` is created atomically (``O_EXCL``) first,
so concurrent processes print it once between them. A marker that is not ours
(another user planted it) suppresses nothing: the notice is shown.

When stderr is not a terminal (CI, pipes, cron) nothing is printed and no
marker is written: a message in a log nobody reads informs no one, and
writing into a host's captured stderr would change output that scripts
compare. The notice then appears the first time the user runs an
instrumented CLI on a terminal. Whoever configured the endpoint (an
environment variable or a config file) consented for that environment; the
notice informs the person at the keyboard, it does not gate delivery.

Hot path: imports ``os`` and ``sys`` only.
"""

import os
import sys

from autotelemetry.hook import fs

MARKER = "notice_shown"


def endpoint_host(url: str) -> str:
    """Just the host (and port) of the endpoint: no credentials, path or query."""
    rest = url.split("://", 1)[-1]
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    return rest.rsplit("@", 1)[-1] or "the configured endpoint"


def text(endpoint: str) -> str:
    return (
        "autotelemetry: usage data of this command line tool (command and option names,\n"
        "  duration, exit status, sanitised crash stack traces; never argument values)\n"
        "  is sent to %s.\n"
        "  Turn it off with `autotelemetry disable`, or DO_NOT_TRACK=1 for one run.\n"
        "  This notice is shown once.\n" % endpoint_host(endpoint)
    )


def maybe_show(home: str, settings: object) -> bool:
    """Print the notice if it is due; True when printed. Never raises."""
    try:
        endpoint = settings.values["endpoint"]  # type: ignore[attr-defined]
        if not endpoint or not os.isatty(2):
            return False
        try:
            if not fs.make_file(os.path.join(home, MARKER)):
                return False  # shown before
        except OSError as exc:
            if exc.errno != fs.REFUSED:
                raise
            # a marker we did not write hides nothing: shown, and shown again
        stream = sys.stderr
        if stream is None:
            return False
        stream.write(text(str(endpoint)))
        stream.flush()
        return True
    except Exception:
        return False


__all__ = ["MARKER", "endpoint_host", "maybe_show", "text"]
