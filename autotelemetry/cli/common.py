"""What several commands share: option sets, time bounds, progress, opening the store."""

from __future__ import annotations

import calendar
import math
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from autotelemetry.hook import identity
from autotelemetry.store import Filters, Store
from autotelemetry.store import ingest as spool_reader

F = TypeVar("F", bound=Callable[..., Any])


def with_options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Apply several ``click.option`` decorators in the order listed."""

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


# --- time bounds ----------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SPAN = re.compile(r"(\d+)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
TIME_HELP = (
    "RFC 3339 (2026-11-01T10:00:00Z), a date (2026-11-01, UTC) "
    "or a span back from now (7d, 24h, 30m)"
)


def parse_time(text: str, now: float | None = None) -> str:
    """A time bound as the store's timestamps are written (RFC 3339 UTC, milliseconds).

    Accepts RFC 3339 with an offset, a date (its midnight UTC) or a span back
    from now (``90s``, ``30m``, ``24h``, ``7d``, ``2w``); raises ``ValueError``
    for anything else, impossible dates (``2026-13-45``) included.
    """
    text = text.strip()
    m = _SPAN.fullmatch(text)
    if m:
        epoch = (time.time() if now is None else now) - int(m.group(1)) * _UNIT[m.group(2)]
        return _format(epoch)
    m = _DATE.fullmatch(text)
    if m:
        y, mo, d = (int(x) for x in m.groups())
        return _format(calendar.timegm((y, mo, d, 0, 0, 0)) if _valid(y, mo, d) else _bad())
    m = _RFC3339.fullmatch(text)
    if not m:
        raise ValueError(text)
    y, mo, d, hh, mm, ss = (int(x) for x in m.groups()[:6])
    if not _valid(y, mo, d) or hh > 23 or mm > 59 or ss > 59:
        raise ValueError(text)
    epoch = calendar.timegm((y, mo, d, hh, mm, ss)) + float(m.group(7) or 0)
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise ValueError(text)
        epoch -= sign * (oh * 3600 + om * 60)
    return _format(epoch)


def _valid(y: int, mo: int, d: int) -> bool:
    return 1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and y >= 1


def _bad() -> int:
    raise ValueError("no such date")


def _format(epoch: float) -> str:
    whole = math.floor(epoch)
    millis = round((epoch - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class TimeBound(click.ParamType):
    """``--since``/``--until``: a clear error (exit 2) for anything :func:`parse_time` refuses."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return parse_time(str(value))
        except (ValueError, OverflowError, OSError):
            self.fail(f"{value!r} is not a time: use {TIME_HELP}", param, ctx)


with_filters = with_options(
    click.option("--cli", "cli_name", metavar="NAME", help="Only events of this CLI."),
    click.option(
        "--since",
        type=TimeBound(),
        metavar="TIME",
        help=f"Only events at or after TIME: {TIME_HELP}.",
    ),
    click.option("--until", type=TimeBound(), metavar="TIME", help="Only events before TIME."),
)


# --- progress ----------------------------------------------------------------------


def interactive() -> bool:
    """Progress is for a person: only when stderr is a terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress bar on stderr (counts and time remaining), shown only on a terminal.

    Call it with ``(done, total)``; nothing is drawn until ``total`` reaches
    ``minimum`` (small jobs finish before a bar would help). Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, label: str, minimum: int = 0, *, show_pos: bool = True) -> None:
        self.label = label
        self.minimum = minimum
        self.show_pos = show_pos
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < self.minimum or total <= 0 or not interactive():
                return
            self.bar = click.progressbar(
                length=total,
                label=self.label,
                file=sys.stderr,
                show_eta=True,
                show_pos=self.show_pos,
            )
            self.bar.__enter__()
        self.bar.length = max(total, 1)
        if done > self.bar.pos:
            self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait(seconds: float, label: str) -> None:
    """Sleep ``seconds``; on a terminal, with a bar counting them down."""
    if seconds <= 0:
        return
    if not interactive():
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    total = max(1, math.ceil(seconds))
    with Progress(label, show_pos=False) as bar:
        while True:
            left = end - time.monotonic()
            bar(total - max(0, math.ceil(left)), total)
            if left <= 0:
                break
            time.sleep(min(0.25, left))


with_scope = with_options(
    click.option("--env", "scope", flag_value="env", help="This environment's allowlist."),
    click.option("--user", "scope", flag_value="user", help="Your per-user allowlist."),
)


def filters(cli_name: str | None, since: str | None, until: str | None = None) -> Filters:
    return Filters(cli=cli_name, since=since, until=until)


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


#: Pending spool files from which ingest shows a progress bar (on a terminal).
INGEST_PROGRESS_FILES = 1000


def recovered(store: Store) -> str:
    """What setting a corrupt store aside did, in one line (stderr)."""
    line = f"autotelemetry: the store was corrupt; set aside as {store.recovered_from}"
    if store.salvaged is not None:
        s = store.salvaged
        line += f"; {s.saved} saved, {s.lost} lost" + (
            f" ({s.lost_undelivered} never delivered, counted)" if s.lost_undelivered else ""
        )
    return line


def open_store() -> Store:
    """Open the store and ingest pending spool files first (telling stderr what was repaired).

    A store that cannot be opened for writing (read-only mount, disk full, locked)
    is a one-line error, never a traceback.
    """
    # A store that cannot be opened (read-only, full, not ours) is one line with its fix
    # from the command line's error boundary (autotelemetry.cli.failure).
    store = Store(identity.home_dir())
    if store.recovered_from:
        click.echo(recovered(store), err=True)
    with Progress("ingesting spool files", INGEST_PROGRESS_FILES) as progress:
        result = recovering(store, lambda: spool_reader.ingest(store, progress))
    if result.quarantined:
        click.echo(
            f"autotelemetry: {result.invalid} invalid record(s) in {len(result.quarantined)} "
            "corrupt spool file(s) quarantined (counted as dropped: invalid)",
            err=True,
        )
    return store


T = TypeVar("T")


def recovering(store: Store, fn: Callable[[], T]) -> T:
    """:func:`ingest.recovering`, saying on stderr when the store had to be set aside."""
    before = store.recovered_from
    result = spool_reader.recovering(store, fn)
    if store.recovered_from != before:
        click.echo(recovered(store), err=True)
    return result
