"""The detached sender: spool → store → endpoint. The only module that imports ``requests``.

One data path: the sender first moves the spool into the local SQLite store
(:func:`autotelemetry.store.ingest.ingest` is idempotent and crash-safe), then sends stored events
the endpoint has not yet acknowledged, in order of their store rowid, and
advances the delivery ledger's watermark (:mod:`autotelemetry.store.ledger`)
only after a 2xx or a counted drop. A sender killed at any instant therefore loses nothing: what
was in flight is still above the watermark and is sent again (at least once;
the receiver may see a duplicate, the store never holds one).

At most one sender works at a time: an exclusive ``flock`` on
``sender.lock`` is the claim, taken by the CLI that spawns the sender (without
waiting) and handed to it, held for the sender's whole life; the kernel
releases it the moment its holder dies, so there is no claim timeout to wait
out.

Only a record proven bad on its own is dropped: a rejected batch is halved
down to single records, and a single record rejected (400, 413, 422) is
dropped only once the endpoint has accepted another in the same run. Answers
that concern the request as a whole (401, 403, 404, 405, 407, 410, 411, 415),
or a rejection of every single record tried, mean the *endpoint* is wrong:
nothing is dropped, the sender backs off and ``status``/``doctor`` say so.
Rules, defaults and knobs are in docs/delivery.md.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from autotelemetry import endpoint
from autotelemetry.exporters import get as get_exporter
from autotelemetry.hook import allowlist, config, fs, spawn
from autotelemetry.store import Store, is_corrupt
from autotelemetry.store.ingest import ingest, pending
from autotelemetry.store.ledger import Ledger, Row

LOCK = spawn.LOCK
LOG = "sender.log"
#: Status codes that will not succeed on retry.
PERMANENT = frozenset({400, 401, 403, 404, 405, 407, 410, 411, 413, 415, 422})
#: Permanent codes that concern the request as a whole (auth, address, protocol): the
#: endpoint is wrong, not a record. Nothing is split, nothing dropped.
WHOLE = frozenset({401, 403, 404, 405, 407, 410, 411, 415})
#: Single records rejected, with no record accepted in the same run, after which the
#: endpoint (not the records) is taken to be wrong.
SUSPECTS = 3


@dataclass
class Settings:
    """Everything the sender needs; secrets (headers) come only from the environment."""

    endpoint: str | None
    protocol: str = "otlp"
    headers: dict[str, str] = field(default_factory=dict)
    ca_bundle: str | None = None
    timeout: float = 10.0
    budget: float = 60.0
    batch: int = 500
    retry_base: float = 1.0
    retry_cap: float = 3600.0
    store_max_events: int = 200_000
    debug: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        """Endpoint and protocol follow the settings' precedence (environment, then the
        environment's and the user's config.toml); everything else comes from the
        environment only, through the option table."""
        configured = config.load_settings(environ).values

        def value(name: str) -> Any:
            return config.value(name, environ)

        return cls(
            endpoint=str(configured["endpoint"] or "") or None,
            protocol=str(configured["protocol"] or "otlp"),
            headers=parse_headers(value("headers") or ""),
            ca_bundle=value("ca_bundle"),
            timeout=float(value("timeout")),
            budget=float(value("send_budget")),
            batch=int(value("batch_events")),
            retry_base=float(value("retry_base")),
            retry_cap=float(value("retry_max")),
            store_max_events=int(value("store_max_events")),
            debug=bool(value("debug")),
        )


def parse_headers(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` (values percent-decoded, as ``OTEL_EXPORTER_OTLP_HEADERS``)."""
    from urllib.parse import unquote

    headers = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip())] = unquote(value.strip())
    return headers


class HeaderError(ValueError):
    """A header that HTTP cannot carry (not Latin-1, a line break): nothing is sent, the
    events are kept. The message names the header, never its value."""


def masked(headers: dict[str, str]) -> dict[str, str]:
    return {k: (v[:2] + "***" if len(v) > 6 else "***") for k, v in headers.items()}


@dataclass
class Result:
    """What one sender run did (what `flush` prints and `status` remembers)."""

    sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    kept_reason: str | None = None
    next_retry: float | None = None
    evicted: int = 0
    attempts: int = 0

    def summary(self) -> str:
        parts = [f"sent {self.sent}"]
        parts.append(
            f"kept {self.kept} for retry" + (f" ({self.kept_reason})" if self.kept_reason else "")
        )
        drops = sum(self.dropped.values())
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items()))
        parts.append(f"dropped {drops}" + (f" ({reasons})" if reasons else ""))
        return "; ".join(parts)


class _Retry(Exception):
    """A transient failure: keep the batch, back off."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class Sender:
    """One run: ingest, cap, send batches; call :meth:`run` holding the lock."""

    def __init__(
        self,
        home: str,
        settings: Settings,
        progress: Callable[[Result], None] | None = None,
        log: Callable[[str], None] | None = None,
        wait: Callable[[float, str], None] | None = None,
    ) -> None:
        """``wait(seconds, reason)`` sleeps before a retry (``flush`` shows it on a terminal).

        Raises :class:`HeaderError` for a header HTTP cannot carry (nothing is sent).
        """
        problem = endpoint.header_problem(settings.headers)
        if problem is not None:
            raise HeaderError(problem)
        import requests

        self.home = home
        self.settings = settings
        self.exporter = get_exporter(settings.protocol)
        # Userinfo becomes a header (never part of a URL that is logged or stored); the
        # display form (no userinfo, no query values) is all that is ever shown or kept.
        bare, authorization = endpoint.split_credentials(settings.endpoint or "")
        self.url = self.exporter.url(bare)
        self.display = endpoint.display(self.url)
        self.progress = progress
        self.wait = wait or (lambda seconds, reason: time.sleep(seconds))
        self.log = log or (lambda line: sys.stderr.write("autotelemetry: " + line + "\n"))
        self.session = requests.Session()
        self.session.verify = settings.ca_bundle or True  # never off
        if authorization is not None:
            self.session.headers["Authorization"] = authorization
        self.session.headers.update(settings.headers)  # an explicit Authorization wins
        self.requests = requests
        self.store = Store(home)
        self.ledger = Ledger(self.store)
        self.result = Result()
        self.deadline = time.monotonic() + settings.budget
        #: A 2xx seen in this run: the endpoint takes our records.
        self.accepted = False
        #: Single records rejected while no record was accepted yet: proven bad only
        #: once another is accepted (then dropped), else the endpoint is wrong.
        self.suspects: list[tuple[Row, int]] = []
        #: Highest rowid tried in this run (suspects stay above the watermark).
        self.cursor = 0
        self.probed = False

    # --- the store -----------------------------------------------------------------

    def prepare(self) -> None:
        """Ingest the spool; the caps of the spool and the store are enforced by ingest."""
        ingested = ingest(self.store)
        self.result.evicted += ingested.evicted
        if ingested.quarantined:
            self.log(
                f"{ingested.invalid} invalid record(s) in {len(ingested.quarantined)} spool "
                "file(s) quarantined"
            )
        if ingested.store_evicted:
            self.result.dropped["store_cap"] = (
                self.result.dropped.get("store_cap", 0) + ingested.store_evicted
            )
        if ingested.untrusted:
            self.log(
                f"{len(ingested.untrusted)} spool entr(ies) not ours (symlinks, FIFOs, other "
                "users' files) set aside unread"
            )
        if ingested.refused:
            self.log(f"spool refused, nothing ingested: {ingested.refused}")

    # --- sending -----------------------------------------------------------------

    def post(self, rows: list[tuple[int, str]], carry: bool = True) -> dict[str, int]:
        """POST one batch; returns the drop counts it carried, raises on failure."""
        events = [json.loads(body) for _, body in rows]
        carried = self.ledger.unreported() if carry else {}
        payload = self.exporter.encode(events, carried)
        if self.settings.debug:
            self.log(
                f"POST {self.display} ({len(events)} event(s), "
                f"headers {masked(self.settings.headers)})"
            )
            self.log("payload " + payload.decode("utf-8"))
        self.result.attempts += 1
        remaining = max(0.5, self.deadline - time.monotonic())
        timeout = min(self.settings.timeout, remaining)
        try:
            response = self.session.post(
                self.url,
                data=gzip.compress(payload),
                headers={
                    "Content-Type": self.exporter.CONTENT_TYPE,
                    "Content-Encoding": "gzip",
                    "User-Agent": f"autotelemetry/{spawn_version()}",
                },
                timeout=(timeout, timeout),
                allow_redirects=False,
                # Per request, not only on the session: requests 2.34 ignores a CA-bundle
                # path set as Session.verify (AUTOTELEMETRY_CA_BUNDLE was silently unused).
                verify=self.session.verify,
            )
        except self.requests.Timeout:
            raise _Retry("timeout") from None
        except self.requests.RequestException as exc:
            raise _Retry(f"network error ({type(exc).__name__})") from None
        except OSError as exc:  # e.g. AUTOTELEMETRY_CA_BUNDLE names no usable file
            raise _Retry(f"TLS setup failed ({exc})") from None
        code = response.status_code
        response.close()
        if self.settings.debug:
            self.log(f"HTTP {code}")
        if 200 <= code < 300:
            return carried
        if code in PERMANENT:
            raise _Permanent(code)
        raise _Retry(f"HTTP {code}", retry_after_seconds(response.headers.get("Retry-After")))

    def _advance(
        self, rows: list[Row], sent: bool, reason: str | None, carried: dict[str, int] | None
    ) -> None:
        if sent:
            self.ledger.delivered(rows, carried or {})
        else:
            self.ledger.dropped(rows, str(reason))
        if sent:
            self.result.sent += len(rows)
            # A success supersedes an earlier failure of this run: no retry is pending.
            self.result.next_retry = None
            self.result.kept_reason = None
        else:
            self.result.dropped[str(reason)] = self.result.dropped.get(str(reason), 0) + len(rows)
        if self.settings.debug:
            verdict = "sent" if sent else f"dropped ({reason})"
            self.log(f"{verdict}: {len(rows)} event(s)")
        if self.progress:
            self.progress(self.result)

    def send(self, rows: list[Row]) -> None:
        """Send ``rows``; a rejected batch is halved down to the records rejected on their own.

        Raises :class:`_EndpointWrong` when the answer concerns the request as a
        whole, or when :data:`SUSPECTS` single records were rejected and none
        accepted: then nothing is dropped (see the module docstring).
        """
        self.cursor = max(self.cursor, max(r[0] for r in rows))
        try:
            carried = self.post(rows)
        except _Permanent as exc:
            if exc.code in WHOLE:
                raise _EndpointWrong(exc.code, False) from None
            if len(rows) > 1:
                half = len(rows) // 2
                self.send(rows[:half])
                self.send(rows[half:])
                return
            if self.accepted:  # the endpoint takes others: this one is bad on its own
                self._advance(rows, False, f"http_{exc.code}", None)
                return
            self.suspects.append((rows[0], exc.code))
            if len(self.suspects) >= SUSPECTS:
                if not self._probe():
                    raise _EndpointWrong(exc.code, True) from None
                self._proven()
            return
        self._proven()
        self.accepted = True
        self._advance(rows, True, None, carried)

    def _probe(self) -> bool:
        """Before calling the endpoint wrong: does it take a record from elsewhere in the
        backlog (the newest, sent alone)? If so, the records it rejected are bad on their
        own (old ones a backend refuses, say) and must not block the rest forever. The
        probe does not move the watermark: that record is sent again in its turn (at least
        once). At most one probe per run."""
        if self.probed:
            return self.accepted
        self.probed = True
        row = self.ledger.newest()
        if row is None or any(row[0] == r[0] for r, _ in self.suspects):
            return False
        try:
            self.post([row], carry=False)
        except _Permanent:
            return False
        self.accepted = True
        return True

    def _proven(self) -> None:
        """The endpoint accepted a record: the single records it rejected before are bad."""
        for row, code in self.suspects:
            self._advance([row], False, f"http_{code}", None)
        self.suspects.clear()

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; Retry-After wins when longer."""
        s = self.settings
        delay = min(s.retry_cap, s.retry_base * (2 ** min(failures, 30)))
        delay = delay * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.retry_cap))
        return delay

    def run(self) -> Result:
        """Send until the backlog is empty, a failure needs a later retry, or the budget ends."""
        self.prepare()
        try:
            while time.monotonic() < self.deadline:
                rows = self.ledger.batch(
                    self.settings.batch, after=max(self.cursor, self.ledger.watermark())
                )
                if not rows:
                    break
                try:
                    self.send(rows)
                except _Retry as exc:
                    failures = self.ledger.failures()
                    delay = self.backoff(failures, exc.retry_after)
                    self.record_failure(failures + 1, delay, exc.reason)
                    self.suspects.clear()  # sent again after the wait, judged again
                    self.cursor = 0
                    if time.monotonic() + delay >= self.deadline:
                        break
                    self.wait(delay, exc.reason)
                    self.prepare()
            if self.suspects and not self.accepted:
                if not self._probe():
                    # Every record tried was rejected on its own: the endpoint is wrong.
                    raise _EndpointWrong(self.suspects[-1][1], True)
                self._proven()
        except _EndpointWrong as exc:
            self.refused(exc)
        self.result.kept = self.ledger.backlog()
        if not self.result.kept:
            self.result.kept_reason = None
            self.result.next_retry = None
        elif self.result.next_retry is None:
            self.result.kept_reason = self.result.kept_reason or "time budget spent"
        self.finish()
        return self.result

    def refused(self, exc: _EndpointWrong) -> None:
        """Keep everything, back off long, and remember why (``status``, ``doctor``)."""
        failures = self.ledger.failures()
        delay = self.backoff(failures + 5, None)
        next_retry = time.time() + delay
        reason = f"the endpoint refuses every request: {exc.describe()}"
        self.ledger.refused(
            {
                "code": exc.code,
                "every_record": exc.every_record,
                "reason": reason,
                "fix": exc.fix(),
                "url": self.url,
                "time": time.time(),
            },
            failures + 1,
            next_retry,
        )
        self.suspects.clear()
        self.result.kept_reason = reason
        self.result.next_retry = next_retry
        self.log(f"{reason}; fix: {exc.fix()}")

    def record_failure(self, failures: int, delay: float, reason: str) -> None:
        next_retry = time.time() + delay
        self.ledger.failed(failures, next_retry)
        self.result.kept_reason = reason
        self.result.next_retry = next_retry
        if self.settings.debug:
            self.log(f"kept for retry ({reason}); next attempt in {delay:.1f}s")

    def finish(self) -> None:
        r = self.result
        self.ledger.finished(
            {
                "time": time.time(),
                "sent": r.sent,
                "dropped": r.dropped,
                "kept": r.kept,
                "kept_reason": r.kept_reason,
                "endpoint": self.display,  # never the URL itself: it may hold a key
            },
            clear_retry=r.next_retry is None,
        )

    def close(self) -> None:
        self.store.close()
        self.session.close()


class _Permanent(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


#: What to check, by the answer that proves the endpoint wrong (docs/delivery.md).
FIXES = {
    401: "the endpoint refused the credentials: check AUTOTELEMETRY_HEADERS (e.g. "
    "Authorization=Bearer%20<token>)",
    403: "the credentials are not allowed to write: check AUTOTELEMETRY_HEADERS and the "
    "token's permissions",
    404: "no such path: check AUTOTELEMETRY_ENDPOINT (for OTLP give the base URL, "
    "e.g. https://collector:4318; /v1/logs is appended)",
    405: "that URL does not accept POST: check AUTOTELEMETRY_ENDPOINT",
    407: "the proxy wants credentials: check HTTPS_PROXY/HTTP_PROXY",
    410: "the endpoint is gone: check AUTOTELEMETRY_ENDPOINT",
    411: "the endpoint wants a request it cannot get from us: check AUTOTELEMETRY_ENDPOINT "
    "(a proxy in between?)",
    415: "the endpoint does not take this format: check AUTOTELEMETRY_PROTOCOL (otlp or json) "
    "and that the URL is an OTLP/HTTP (JSON) receiver or a JSON webhook",
}
FIX_EVERY_RECORD = (
    "every record was rejected on its own: the endpoint does not take this format; check "
    "AUTOTELEMETRY_PROTOCOL (otlp or json) and AUTOTELEMETRY_ENDPOINT"
)


class _EndpointWrong(Exception):
    """The endpoint refuses the requests themselves (not a record): keep all, back off."""

    def __init__(self, code: int, every_record: bool) -> None:
        super().__init__(code)
        self.code = code
        self.every_record = every_record

    def describe(self) -> str:
        if self.every_record:
            return f"HTTP {self.code} for every record tried on its own"
        return f"HTTP {self.code}"

    def fix(self) -> str:
        if self.every_record:
            return FIX_EVERY_RECORD
        return FIXES.get(self.code, "check AUTOTELEMETRY_ENDPOINT and AUTOTELEMETRY_HEADERS")


def probe(settings: Settings, timeout: float) -> tuple[int | None, str]:
    """Send one empty request (no event) as a sender would: (HTTP status or None, detail).

    For ``doctor --send-test``: the endpoint's answer to our format, URL and
    credentials, without touching the store.
    """
    import requests

    exporter = get_exporter(settings.protocol)
    url = exporter.url(settings.endpoint or "")
    start = time.perf_counter()
    try:
        with requests.Session() as session:
            session.headers.update(settings.headers)
            response = session.post(
                url,
                data=gzip.compress(exporter.encode([], {})),
                headers={
                    "Content-Type": exporter.CONTENT_TYPE,
                    "Content-Encoding": "gzip",
                    "User-Agent": f"autotelemetry/{spawn_version()}",
                },
                timeout=(timeout, timeout),
                allow_redirects=False,
                verify=settings.ca_bundle or True,
            )
            code = response.status_code
            response.close()
    except (requests.RequestException, OSError) as exc:
        return None, f"POST {url}: no answer ({type(exc).__name__})"
    ms = (time.perf_counter() - start) * 1000
    headers = ", ".join(sorted(settings.headers)) or "no headers"
    return (
        code,
        f"POST {url} (empty {settings.protocol} request, {headers}): HTTP {code} in {ms:.0f} ms",
    )


def spawn_version() -> str:
    from autotelemetry import __version__

    return __version__


# --- locking -------------------------------------------------------------------


def acquire(home: str, wait: float) -> int | None:
    """The sender lock's fd, waiting up to ``wait`` seconds; ``None`` if still busy."""
    import fcntl

    fs.private_dir(home)
    fd = fs.open_file(os.path.join(home, LOCK), os.O_RDWR, create=True)[0]
    end = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= end:
                os.close(fd)
                return None
            time.sleep(0.05)
    _mark_holder(fd)
    return fd


def _mark_holder(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass


def inherited_claim(home: str, argv: list[str]) -> int | None:
    """The lock a spawning CLI took and handed over (``--locked FD``), if it is that lock.

    The fd must be the home's ``sender.lock`` (same file) and hold the lock (a
    non-blocking ``flock`` of the same open file succeeds at once).
    """
    import fcntl

    try:
        fd = int(argv[argv.index("--locked") + 1])
        if os.fstat(fd)[1:3] != os.stat(os.path.join(home, LOCK))[1:3]:  # (ino, dev)
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ValueError, IndexError, OSError):
        return None
    os.set_inheritable(fd, False)  # nothing this process starts gets it
    _mark_holder(fd)
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing drops the flock


# --- the detached process --------------------------------------------------------


def _log_line(home: str, text: str, url: str | None = None) -> None:
    """Append to ``sender.log`` (kept small: restarted past 256 KiB). Never raises: a
    full disk or a read-only home must not end the sender before it does its work.

    Opened through the trusted open (a log that is not ours is not written to);
    any secret part of the endpoint ``url`` is scrubbed from ``text`` first.
    """
    path = os.path.join(home, LOG)
    try:
        fd, st = fs.open_file(path, os.O_WRONLY | os.O_APPEND, create=True)
    except OSError:
        return
    try:
        if st.st_size > 256 << 10:
            os.replace(path, path + ".1")  # this descriptor writes on, into the old one
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = endpoint.scrub(f"{stamp} pid={os.getpid()} {text}", url)
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m autotelemetry.sender``: detached, silent, bounded."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        os.chdir("/")
    except OSError:
        pass
    if config.disabled_reason() is not None:
        return 0
    settings = Settings.from_env()
    if not settings.endpoint:
        return 0
    home = allowlist.home_dir()
    try:
        fs.private_dir(home, create=False)
    except OSError:
        return 0  # refused (status and doctor say why) or gone: nothing to send from
    url = settings.endpoint

    def log(line: str) -> None:
        _log_line(home, line, url)

    log("start")
    problem = endpoint.header_problem(settings.headers)
    if problem is not None:
        log(f"not sending: {problem}; the events are kept")
        return 0
    # Spawned by a CLI: it took the lock (without waiting) and handed it over. Started
    # otherwise: a sender finishing right now may still hold it; wait for it briefly,
    # then leave the work to it (it re-reads the spool before exiting).
    fd = inherited_claim(home, argv) if "--locked" in argv else None
    if fd is None:
        try:
            fd = acquire(home, wait=3.0)
        except OSError as exc:
            log(f"cannot take the sender lock ({exc}); exiting")
            return 0
    if fd is None:
        log("another sender is running; exiting")
        return 0
    held: int | None = fd
    try:
        while held is not None:
            _work(home, settings, log)
            release(held)
            held = None
            # A CLI that wrote its event after the last look at the spool, while the
            # lock was still held, could not start a sender: look once more.
            if pending(home):
                try:
                    held = acquire(home, wait=0)  # None: a new sender has it
                except OSError:
                    held = None
                if held is not None:
                    log("events arrived while exiting; going on")
        return 0
    finally:
        if held is not None:
            release(held)


def _work(home: str, settings: Settings, log: Callable[[str], None]) -> None:
    """Send, then linger while the spawn window is open (CLIs finishing meanwhile do not spawn)."""
    interval = spawn.interval()

    try:
        started = time.monotonic()
        while True:
            sender = Sender(home, settings, log=log)
            try:
                next_retry = sender.ledger.next_retry()
                # A retry time beyond the longest backoff predates a clock jump back.
                if (
                    next_retry is not None
                    and sender.ledger.backlog()
                    and time.time() < next_retry <= time.time() + settings.retry_cap + 60
                ):
                    spawn.touch(home, next_retry - interval)
                    log("backing off; exiting")
                    return
                result = sender.run()
            finally:
                sender.close()
            log(result.summary())
            if result.next_retry is not None:
                spawn.touch(home, result.next_retry - interval)
                return
            if result.kept:  # budget spent with work left: let the next CLI start one
                spawn.touch(home, 0)
                return
            while True:
                if time.monotonic() - started > settings.budget:
                    spawn.touch(home, 0)
                    return
                if spawn.due(home, time.time()) and not pending(home):
                    return
                if pending(home):
                    break
                time.sleep(0.25)
    except Exception as exc:
        try:
            log(f"error: {type(exc).__name__}: {exc}")
            if is_corrupt(exc):  # damaged mid-use: set aside (and salvaged) for the next run
                store = Store(home)
                store.recover()
                store.close()
                log(f"corrupt store set aside as {store.recovered_from}")
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(main())
