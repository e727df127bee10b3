"""The detached sender: spool → store → endpoint. The only module that imports ``requests``.

One data path: the sender first moves the spool into the local SQLite store
(:func:`autotelemetry.store.ingest.ingest` is idempotent and crash-safe), then sends stored events
the endpoint has not yet acknowledged, in order of their store rowid, and
advances the delivery ledger's watermark (:mod:`autotelemetry.store.ledger`)
only after a 2xx or a counted drop. A sender killed at any instant therefore loses nothing: what
was in flight is still above the watermark and is sent again (at least once;
the receiver may see a duplicate, the store never holds one).

At most one sender works at a time: an exclusive ``flock`` on
``sender.lock`` is the claim, and the kernel releases it the moment its
holder dies, so there is no claim timeout to wait out. Rules, defaults and
knobs are in docs/delivery.md.
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

from autotelemetry import otel
from autotelemetry.exporters import Payload, payload
from autotelemetry.hook import allowlist, config, fs, spawn, spool
from autotelemetry.store import Store, is_corrupt
from autotelemetry.store.ingest import eviction_marks, ingest, pending, read_lines
from autotelemetry.store.ledger import PRIMARY, Ledger, Row

LOCK = "sender.lock"
LOG = "sender.log"
#: Status codes that will not succeed on retry: the batch is split, then dropped.
PERMANENT = frozenset({400, 401, 403, 404, 405, 410, 411, 413, 415, 422})
#: Permanent codes that concern the request as a whole (auth, address): no split.
WHOLE = frozenset({401, 403, 404, 405, 410})
#: Largest response body read (the OTLP default maximum response size).
MAX_RESPONSE = 4 << 20


@dataclass
class Settings:
    """Everything the sender needs; secrets (headers) come only from the environment.

    ``delivery`` holds the resolved channels (one per signal: URL, encoding, headers,
    compression, timeout, TLS), each value with its source (:mod:`autotelemetry.otel`).
    """

    endpoint: str | None
    protocol: str = "otlp"
    delivery: otel.Delivery | None = None
    budget: float = 60.0
    batch: int = 500
    retry_base: float = 1.0
    retry_cap: float = 3600.0
    store_max_events: int = 200_000
    debug: bool = False

    @property
    def channels(self) -> list[otel.Channel]:
        return list(self.delivery.channels) if self.delivery else []

    @property
    def resource(self) -> dict[str, str]:
        return dict(self.delivery.resource) if self.delivery else {}

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        """Endpoint and protocol follow the settings' precedence (environment, then the
        environment's and the user's config.toml, then OpenTelemetry's variables); the
        channels are resolved by :mod:`autotelemetry.otel`; everything else comes from
        the environment only, through the option table."""
        delivery = otel.resolve(config.load_settings(environ), environ)

        def value(name: str) -> Any:
            return config.value(name, environ)

        return cls(
            endpoint=delivery.endpoint,
            protocol=delivery.protocol,
            delivery=delivery,
            budget=float(value("send_budget")),
            batch=int(value("batch_events")),
            retry_base=float(value("retry_base")),
            retry_cap=float(value("retry_max")),
            store_max_events=int(value("store_max_events")),
            debug=bool(value("debug")),
        )


def parse_headers(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` (values percent-decoded, as ``OTEL_EXPORTER_OTLP_HEADERS``)."""
    return otel.parse_pairs(text) or {}


def masked(headers: dict[str, str]) -> dict[str, str]:
    return {k: (v[:2] + "***" if len(v) > 6 else "***") for k, v in headers.items()}


@dataclass
class SignalResult:
    """What one run did on one signal."""

    sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    stopped: str | None = None
    #: Not sent at all (an unsupported protocol): its events wait, no retry is due.
    blocked: bool = False

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n


@dataclass
class Result:
    """What one sender run did (what `flush` prints and `status` remembers).

    ``sent``/``dropped``/``kept`` are those of the first channel (the logs, or the
    webhook's events); every channel's are in ``signals``.
    """

    signals: dict[str, SignalResult] = field(default_factory=dict)
    kept_reason: str | None = None
    next_retry: float | None = None
    evicted: int = 0
    attempts: int = 0
    primary: str = "logs"

    def of(self, signal: str) -> SignalResult:
        return self.signals.setdefault(signal, SignalResult())

    @property
    def sent(self) -> int:
        return self.of(self.primary).sent

    @property
    def dropped(self) -> dict[str, int]:
        return self.of(self.primary).dropped

    @property
    def kept(self) -> int:
        return self.of(self.primary).kept

    @property
    def kept_any(self) -> int:
        """Events kept for a retry on any channel (a blocked signal is not retried)."""
        return sum(r.kept for r in self.signals.values() if not r.blocked)

    def summary(self) -> str:
        parts = [f"sent {self.sent}"]
        parts.append(
            f"kept {self.kept} for retry" + (f" ({self.kept_reason})" if self.kept_reason else "")
        )
        parts.append(_drops(self.dropped))
        for signal, r in self.signals.items():
            if signal != self.primary:
                what = "span(s)" if signal == "traces" else signal
                stopped = f" ({r.stopped})" if r.stopped else ""
                parts.append(
                    f"{signal}: sent {r.sent} {what}, kept {r.kept}{stopped}, " + _drops(r.dropped)
                )
        return "; ".join(parts)


def _drops(dropped: dict[str, int]) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items()))
    return f"dropped {sum(dropped.values())}" + (f" ({reasons})" if reasons else "")


class _Retry(Exception):
    """A transient failure: keep the batch, back off."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Stop(Exception):
    """A permanent failure of the whole request (auth, address): stop this channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


@dataclass
class _Answer:
    """A 2xx answer to one request."""

    items: int
    carried: dict[str, int]
    rejected: int = 0
    message: str = ""


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
        """``wait(seconds, reason)`` sleeps before a retry (``flush`` shows it on a terminal)."""
        import requests

        self.home = home
        self.settings = settings
        self.channels = settings.channels
        self.urls = [ch.url for ch in self.channels]
        self.url = self.urls[0] if self.urls else (settings.endpoint or "")
        self.progress = progress
        self.wait = wait or (lambda seconds, reason: time.sleep(seconds))
        self.log = log or (lambda line: sys.stderr.write("autotelemetry: " + line + "\n"))
        self.session = requests.Session()
        self.requests = requests
        self.store = Store(home)
        self.ledger = Ledger(self.store)
        self.result = Result(primary=self.channels[0].signal if self.channels else "logs")
        for ch in self.channels:
            self.result.of(ch.signal)
        self.deadline = time.monotonic() + settings.budget

    # --- the store -----------------------------------------------------------------

    def prepare(self) -> None:
        """Fold eviction marks, cap and ingest the spool, cap the store."""
        evicted = spool.enforce_limits(self.home)
        marks = eviction_marks(self.home)
        total = sum(n for _, n in marks)
        if total:
            self.ledger.count_drops("spool_evicted", total)
            for path, _ in marks:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.result.evicted += evicted
        ingested = ingest(self.store)
        if ingested.quarantined:
            self.log(f"{len(ingested.quarantined)} corrupt spool file(s) quarantined")
        signals = tuple(ch.signal for ch in self.channels) or ("logs",)
        for signal, lost in self.ledger.cap(self.settings.store_max_events, signals).items():
            self.result.of(signal).drop("store_cap", lost)

    # --- sending -----------------------------------------------------------------

    def post(self, ch: otel.Channel, rows: list[Row]) -> _Answer | None:
        """POST one batch on ``ch``; ``None`` when it holds nothing for this signal.

        Raises :class:`_Retry` or :class:`_Permanent` on failure.
        """
        events = [json.loads(body) for _, body in rows]
        carried = self.ledger.unreported() if ch.signal in PRIMARY else {}
        built = payload(ch.signal, ch.encoding, events, carried, self.settings.resource)
        if built is None:
            return None
        if self.settings.debug:
            self.log(
                f"POST {ch.url} ({ch.signal}, {built.items} item(s) of {len(events)} event(s), "
                f"{ch.encoding}, headers {masked(ch.headers)})"
            )
            self.log("payload " + json.dumps(built.as_json(), separators=(",", ":")))
        self.result.attempts += 1
        remaining = max(0.5, self.deadline - time.monotonic())
        timeout = min(ch.timeout, remaining)
        headers = {
            **ch.headers,
            "Content-Type": ch.content_type,
            "User-Agent": f"autotelemetry/{spawn_version()}",
        }
        body = built.body
        if ch.compression == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        try:
            response = self.session.post(
                ch.url,
                data=body,
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
                # Per request, not on the session: requests 2.34 ignores a CA-bundle
                # path set as Session.verify (AUTOTELEMETRY_CA_BUNDLE was silently unused).
                verify=ch.certificate or True,  # never off
                cert=ch.cert,
                stream=True,
            )
            try:
                code = response.status_code
                answer = response.raw.read(MAX_RESPONSE, decode_content=True) if code < 300 else b""
            finally:
                response.close()
        except self.requests.Timeout:
            raise _Retry("timeout") from None
        except self.requests.RequestException as exc:
            raise _Retry(f"network error ({type(exc).__name__})") from None
        except OSError as exc:  # e.g. a CA bundle or client certificate that is no usable file
            raise _Retry(f"TLS setup failed ({exc})") from None
        if self.settings.debug:
            self.log(f"HTTP {code}")
        if 200 <= code < 300:
            result = _Answer(built.items, carried if built.carried else {})
            if ch.signal != "events":
                from autotelemetry.exporters.otlp import parse_response

                result.rejected, result.message = parse_response(
                    ch.signal, answer, response.headers.get("Content-Type")
                )
                result.rejected = min(result.rejected, built.items)
                if self.settings.debug and (result.rejected or result.message):
                    self.log(f"partial success: {result.rejected} rejected ({result.message})")
            return result
        if code in PERMANENT:
            raise _Permanent(code, built.items)
        raise _Retry(f"HTTP {code}", retry_after_seconds(response.headers.get("Retry-After")))

    def _count(self, ch: otel.Channel, rows: list[Row], items: int) -> int:
        """What a batch counts as on ``ch``: events for logs and webhook, spans for traces."""
        return items if ch.signal == "traces" else len(rows)

    def _delivered(self, ch: otel.Channel, rows: list[Row], answer: _Answer | None) -> None:
        r = self.result.of(ch.signal)
        if answer is None:
            self.ledger.skip(rows, ch.signal)
            return
        self.ledger.delivered(rows, answer.carried, ch.signal, answer.rejected, answer.message)
        r.sent += max(0, self._count(ch, rows, answer.items) - answer.rejected)
        r.drop("rejected", answer.rejected)
        if self.settings.debug:
            self.log(f"sent: {len(rows)} event(s) on {ch.signal}")
        if self.progress:
            self.progress(self.result)

    def _dropped(self, ch: otel.Channel, rows: list[Row], reason: str, items: int) -> None:
        self.ledger.dropped(rows, reason, ch.signal)
        self.result.of(ch.signal).drop(reason, self._count(ch, rows, items))
        if self.settings.debug:
            self.log(f"dropped ({reason}): {len(rows)} event(s) on {ch.signal}")
        if self.progress:
            self.progress(self.result)

    def send(self, ch: otel.Channel, rows: list[Row]) -> None:
        """Send ``rows`` on ``ch``; permanent rejections split the batch down to the bad event."""
        try:
            answer = self.post(ch, rows)
        except _Permanent as exc:
            if exc.code in WHOLE:
                self._dropped(ch, rows, f"http_{exc.code}", exc.items)
                raise _Stop(f"HTTP {exc.code}") from None
            if len(rows) > 1:
                half = len(rows) // 2
                self.send(ch, rows[:half])
                self.send(ch, rows[half:])
                return
            self._dropped(ch, rows, f"http_{exc.code}", exc.items)
            return
        self._delivered(ch, rows, answer)

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; Retry-After wins when longer."""
        s = self.settings
        delay = min(s.retry_cap, s.retry_base * (2 ** min(failures, 30)))
        delay = delay * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.retry_cap))
        return delay

    def run(self) -> Result:
        """Send until every channel's backlog is empty, a failure needs a later retry,
        or the budget ends. A channel refused as a whole (auth, address: a collector
        without a traces pipeline answers 404) stops for this run; the others go on."""
        self.prepare()
        active = list(self.channels)
        stops: list[str] = []
        while active and time.monotonic() < self.deadline:
            progressed = False
            try:
                for ch in list(active):
                    rows = self.ledger.batch(self.settings.batch, ch.signal)
                    if not rows:
                        continue
                    progressed = True
                    try:
                        self.send(ch, rows)
                    except _Stop as exc:
                        active.remove(ch)
                        self.result.of(ch.signal).stopped = exc.reason
                        one = len(self.channels) == 1
                        stops.append(exc.reason if one else f"{ch.signal}: {exc.reason}")
            except _Retry as exc:
                failures = self.ledger.failures()
                delay = self.backoff(failures, exc.retry_after)
                self.record_failure(failures + 1, delay, exc.reason)
                if time.monotonic() + delay >= self.deadline:
                    break
                self.wait(delay, exc.reason)
                self.prepare()
                continue
            if not progressed:
                break
        if stops and not active:
            failures = self.ledger.failures()
            self.record_failure(failures + 1, self.backoff(failures + 5, None), "; ".join(stops))
        blocked = self.settings.delivery.blocked if self.settings.delivery else {}
        for ch in self.channels:
            self.result.of(ch.signal).kept = self.ledger.backlog(ch.signal)
        for signal in blocked:
            r = self.result.of(signal)
            r.stopped, r.blocked = "protocol not supported", True
            r.kept = self.ledger.backlog(signal)
        if self.result.kept_any and self.result.next_retry is None:
            self.result.kept_reason = self.result.kept_reason or "time budget spent"
        self.finish()
        return self.result

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
                "endpoint": self.url,
                "signals": {
                    signal: {
                        "sent": sr.sent,
                        "dropped": sr.dropped,
                        "kept": sr.kept,
                        "stopped": sr.stopped,
                    }
                    for signal, sr in r.signals.items()
                },
            },
            clear_retry=r.next_retry is None,
        )

    def close(self) -> None:
        self.store.close()
        self.session.close()


class _Permanent(Exception):
    def __init__(self, code: int, items: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.items = items


# --- inspecting without sending ------------------------------------------------------


@dataclass
class Preview:
    """One request `flush` would send now: its channel, events and payload."""

    channel: otel.Channel
    events: int
    payload: Payload


def preview(home: str, settings: Settings) -> list[Preview]:
    """The requests the next `flush` would send, built exactly as it would build them,
    without sending, ingesting or writing anything.

    Reads the store read-only (events above each signal's watermark) and the spool
    files in place (events the store does not hold yet, in the order ingest would add
    them); the spool and store caps are not applied (they change nothing unless a cap
    is exceeded).
    """
    stored: list[tuple[int, str]] = []
    watermarks: dict[str, int] = {}
    carried: dict[str, int] = {}
    known: set[str] = set()
    spooled: list[tuple[dict, str]] = []
    for path in pending(home):
        try:
            spooled.extend(read_lines(path))
        except Exception:
            continue  # quarantined by the next real run, never sent
    try:
        store: Store | None = Store(home, readonly=True, untouched=True)
    except FileNotFoundError:
        store = None
    if store is not None:
        try:
            ledger = Ledger(store)
            for ch in settings.channels:
                watermarks[ch.signal] = ledger.watermark(ch.signal)
            stored = ledger.batch(-1, signal="logs", after=min(watermarks.values(), default=0))
            known = ledger.known([str(ev.get("event_id")) for ev, _ in spooled])
            carried = ledger.unreported()
        finally:
            store.close()
    marks = sum(n for _, n in eviction_marks(home))
    if marks:
        carried["spool_evicted"] = carried.get("spool_evicted", 0) + marks
    fresh: list[str] = []
    for ev, line in spooled:
        eid = str(ev.get("event_id"))
        if eid not in known:
            known.add(eid)
            fresh.append(line)
    out: list[Preview] = []
    for ch in settings.channels:
        mark = watermarks.get(ch.signal, 0)
        bodies = [body for rowid, body in stored if rowid > mark] + fresh
        first = True
        for i in range(0, len(bodies), settings.batch):
            chunk = [json.loads(b) for b in bodies[i : i + settings.batch]]
            drops = carried if first and ch.signal in PRIMARY else {}
            built = payload(ch.signal, ch.encoding, chunk, drops, settings.resource)
            if built is None:
                continue
            if built.carried:
                first = False
            out.append(Preview(ch, len(chunk), built))
    return out


def spawn_version() -> str:
    from autotelemetry import __version__

    return __version__


# --- locking -------------------------------------------------------------------


def acquire(home: str, wait: float) -> int | None:
    """The sender lock's fd, waiting up to ``wait`` seconds; ``None`` if still busy."""
    import fcntl

    fs.ensure_private_dir(home)
    fd = os.open(os.path.join(home, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
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
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing drops the flock


# --- the detached process --------------------------------------------------------


def _log_line(home: str, text: str) -> None:
    """Append to ``sender.log`` (kept small: restarted past 256 KiB)."""
    path = os.path.join(home, LOG)
    try:
        if os.path.getsize(path) > 256 << 10:
            os.replace(path, path + ".1")
    except OSError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.write(fd, f"{stamp} pid={os.getpid()} {text}\n".encode())
    finally:
        os.close(fd)


def main() -> int:
    """Entry point of ``python -m autotelemetry.sender``: detached, silent, bounded."""
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
    _log_line(home, "start")
    if not settings.channels:
        # Configured but nothing can be sent (gRPC only, no endpoint for any enabled
        # signal): say so once per backoff period instead of starting every interval.
        d = settings.delivery
        why = "; ".join(d.problems + d.notes) if d else ""
        _log_line(home, f"nothing can be sent: {why or 'no channel'}; exiting")
        spawn.touch(home, time.time() + settings.retry_cap - spawn.interval())
        return 0
    # A sender finishing right now still holds the lock: wait for it briefly, then
    # leave the work to the one that is running (it re-reads the spool before exiting).
    fd = acquire(home, wait=3.0)
    if fd is None:
        _log_line(home, "another sender is running; exiting")
        return 0
    interval = spawn.interval()

    def log(line: str) -> None:
        _log_line(home, line)

    try:
        started = time.monotonic()
        while True:
            sender = Sender(home, settings, log=log)
            try:
                next_retry = sender.ledger.next_retry()
                # A retry time beyond the longest backoff predates a clock jump back.
                if (
                    next_retry is not None
                    and time.time() < next_retry <= time.time() + settings.retry_cap + 60
                ):
                    spawn.touch(home, next_retry - interval)
                    _log_line(home, "backing off; exiting")
                    return 0
                result = sender.run()
            finally:
                sender.close()
            _log_line(home, result.summary())
            if result.next_retry is not None:
                spawn.touch(home, result.next_retry - interval)
                return 0
            if result.kept:  # budget spent with work left: let the next CLI start one
                spawn.touch(home, 0)
                return 0
            # Linger while the spawn window is open: CLIs finishing now will not spawn.
            while True:
                if time.monotonic() - started > settings.budget:
                    spawn.touch(home, 0)
                    return 0
                if spawn.due(home, time.time()) and not pending(home):
                    return 0
                if pending(home):
                    break
                time.sleep(0.25)
    except Exception as exc:
        try:
            _log_line(home, f"error: {type(exc).__name__}: {exc}")
            if is_corrupt(exc):  # damaged mid-use: set aside so the next sender starts afresh
                store = Store(home)
                store.recover()
                store.close()
                _log_line(home, f"corrupt store set aside as {store.recovered_from}")
        except Exception:
            pass
        return 0
    finally:
        release(fd)


if __name__ == "__main__":
    sys.exit(main())
