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
Each OpenTelemetry signal (logs, traces; the webhook's events) is a channel with
its own watermark (:mod:`autotelemetry.otel` resolves them). Rules, defaults and
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

from autotelemetry import endpoint, otel
from autotelemetry.exporters import Payload, payload
from autotelemetry.hook import config, fs, identity, spawn, values
from autotelemetry.store import Store, is_corrupt
from autotelemetry.store.ingest import ingest, pending, read_lines
from autotelemetry.store.ledger import PRIMARY, Ledger, Row
from autotelemetry.store.limits import eviction_marks

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
            return values.value(name, environ)

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


class HeaderError(ValueError):
    """A header that HTTP cannot carry (not Latin-1, a line break): nothing is sent, the
    events are kept. The message names the header, never its value."""


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


@dataclass
class _Trial:
    """What one run learnt about one channel's endpoint (see the module docstring)."""

    #: A 2xx seen in this run: the endpoint takes our records.
    accepted: bool = False
    #: Single records rejected while no record was accepted yet: proven bad only once
    #: another is accepted (then dropped), else the endpoint is wrong.
    suspects: list[tuple[Row, int]] = field(default_factory=list)
    #: Highest rowid tried in this run (suspects stay above the watermark).
    cursor: int = 0
    probed: bool = False


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
        for ch in settings.channels:
            problem = endpoint.header_problem(
                ch.headers, ch.headers_source or "AUTOTELEMETRY_HEADERS"
            )
            if problem is not None:
                raise HeaderError(problem)
        import requests

        self.home = home
        self.settings = settings
        self.channels = settings.channels
        # The display form (no userinfo, no query values) is all that is ever shown or
        # kept; userinfo was made a header when the channels were resolved.
        self.display = (
            self.channels[0].display if self.channels else endpoint.display(settings.endpoint or "")
        )
        self.progress = progress
        self.wait = wait or (lambda seconds, reason: time.sleep(seconds))
        self.log = log or (lambda line: sys.stderr.write("autotelemetry: " + line + "\n"))
        self.session = requests.Session()
        self.requests = requests
        self.store = Store(home)
        self.ledger = Ledger(self.store)
        self.result = Result(primary=self.channels[0].signal if self.channels else "logs")
        self.trials: dict[str, _Trial] = {}
        for ch in self.channels:
            self.result.of(ch.signal)
            self.trials[ch.signal] = _Trial()
        self.deadline = time.monotonic() + settings.budget

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
        self.result.of(self.result.primary).drop("store_cap", ingested.store_evicted)
        if ingested.untrusted:
            self.log(
                f"{len(ingested.untrusted)} spool entr(ies) not ours (symlinks, FIFOs, other "
                "users' files) set aside unread"
            )
        if ingested.refused:
            self.log(f"spool refused, nothing ingested: {ingested.refused}")

    # --- sending -----------------------------------------------------------------

    def post(self, ch: otel.Channel, rows: list[Row], carry: bool = True) -> _Answer | None:
        """POST one batch on ``ch``; ``None`` when it holds nothing for this signal.

        ``carry=False``: no drop counts ride along (the probe). Raises
        :class:`_Retry` or :class:`_Permanent` on failure.
        """
        events = [json.loads(body) for _, body in rows]
        carried = self.ledger.unreported() if carry and ch.signal in PRIMARY else {}
        built = payload(ch.signal, ch.encoding, events, carried, self.settings.resource)
        if built is None:
            return None
        if self.settings.debug:
            self.log(
                f"POST {ch.display} ({ch.signal}, {built.items} item(s) of {len(events)} "
                f"event(s), {ch.encoding}, headers {masked(ch.headers)})"
            )
            self.log("payload " + json.dumps(built.as_json(), separators=(",", ":")))
        self.result.attempts += 1
        remaining = max(0.5, self.deadline - time.monotonic())
        code, answer, retry_after = self._request(ch, built.body, min(ch.timeout, remaining))
        if self.settings.debug:
            self.log(f"HTTP {code}")
        if 200 <= code < 300:
            result = _Answer(built.items, carried if built.carried else {})
            if ch.signal != "events":
                from autotelemetry.exporters.otlp import parse_response

                result.rejected, result.message = parse_response(ch.signal, *answer)
                result.rejected = min(result.rejected, built.items)
                if self.settings.debug and (result.rejected or result.message):
                    self.log(f"partial success: {result.rejected} rejected ({result.message})")
            return result
        if code in PERMANENT:
            raise _Permanent(code, built.items)
        raise _Retry(f"HTTP {code}", retry_after)

    def _request(
        self, ch: otel.Channel, body: bytes, timeout: float
    ) -> tuple[int, tuple[bytes, str | None], float | None]:
        """(status, (2xx body, its content type), Retry-After) of one POST on ``ch``."""
        return request(self.session, ch, body, timeout, self.requests)

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
        # A success supersedes an earlier failure of this run: no retry is pending.
        self.result.next_retry = None
        self.result.kept_reason = None
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
        """Send ``rows`` on ``ch``; a rejected batch is halved down to the records rejected
        on their own.

        Raises :class:`_EndpointWrong` when the answer concerns the request as a
        whole, or when :data:`SUSPECTS` single records were rejected and none
        accepted: then nothing is dropped (see the module docstring). A secondary
        signal (spans) refused as a whole raises :class:`_Stop` (that collector has
        no pipeline for it): dropped if the logs were taken in this run, else kept.
        """
        trial = self.trials[ch.signal]
        trial.cursor = max(trial.cursor, max(r[0] for r in rows))
        try:
            answer = self.post(ch, rows)
        except _Permanent as exc:
            if exc.code in WHOLE:
                if ch.signal not in PRIMARY:
                    # Spans refused as a whole: that collector has no pipeline for them.
                    # Dropped (counted) once the logs prove the endpoint right in this run;
                    # kept otherwise. Either way only this channel stops: a secondary
                    # signal never sets the endpoint alarm or delays the logs.
                    if self._primary_accepted():
                        self._dropped(ch, rows, f"http_{exc.code}", exc.items)
                    raise _Stop(f"HTTP {exc.code}") from None
                raise _EndpointWrong(exc.code, False) from None
            if len(rows) > 1:
                half = len(rows) // 2
                self.send(ch, rows[:half])
                self.send(ch, rows[half:])
                return
            if trial.accepted:  # the endpoint takes others: this one is bad on its own
                self._dropped(ch, rows, f"http_{exc.code}", exc.items)
                return
            trial.suspects.append((rows[0], exc.code))
            if len(trial.suspects) >= SUSPECTS:
                if not self._probe(ch):
                    raise _EndpointWrong(exc.code, True) from None
                self._proven(ch)
            return
        self._proven(ch)
        trial.accepted = True
        self._delivered(ch, rows, answer)

    def _primary_accepted(self) -> bool:
        return any(self.trials[s].accepted for s in PRIMARY if s in self.trials)

    def _probe(self, ch: otel.Channel) -> bool:
        """Before calling the endpoint wrong: does it take a record from elsewhere in the
        backlog (the newest, sent alone)? If so, the records it rejected are bad on their
        own (old ones a backend refuses, say) and must not block the rest forever. The
        probe does not move the watermark: that record is sent again in its turn (at least
        once). At most one probe per channel and run."""
        trial = self.trials[ch.signal]
        if trial.probed:
            return trial.accepted
        trial.probed = True
        row = self.ledger.newest()
        if row is None or any(row[0] == r[0] for r, _ in trial.suspects):
            return False
        try:
            self.post(ch, [row], carry=False)
        except _Permanent:
            return False
        trial.accepted = True
        return True

    def _proven(self, ch: otel.Channel) -> None:
        """The endpoint accepted a record: the single records it rejected before are bad."""
        trial = self.trials[ch.signal]
        for row, code in trial.suspects:
            self._dropped(ch, [row], f"http_{code}", 1)
        trial.suspects.clear()

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
        or the budget ends. A channel whose endpoint is wrong stops for this run (its
        events kept); a secondary one refused as a whole stops too; the others go on."""
        self.prepare()
        active = list(self.channels)
        wrong: list[tuple[otel.Channel, _EndpointWrong]] = []
        while active and time.monotonic() < self.deadline:
            progressed = False
            try:
                for ch in list(active):
                    trial = self.trials[ch.signal]
                    after = max(trial.cursor, self.ledger.watermark(ch.signal))
                    rows = self.ledger.batch(self.settings.batch, ch.signal, after=after)
                    if not rows:
                        continue
                    progressed = True
                    try:
                        self.send(ch, rows)
                    except _Stop as exc:
                        active.remove(ch)
                        self.result.of(ch.signal).stopped = exc.reason
                    except _EndpointWrong as exc:
                        if ch.signal in PRIMARY:
                            # Same endpoint, same credentials: the other signals would get
                            # the same answer. Nothing more is asked of it this run.
                            wrong.append((ch, exc))
                            active.clear()
                            break
                        # A secondary signal never sets the alarm: it stops, kept.
                        active.remove(ch)
                        self.result.of(ch.signal).stopped = exc.describe()
            except _Retry as exc:
                failures = self.ledger.failures()
                delay = self.backoff(failures, exc.retry_after)
                self.record_failure(failures + 1, delay, exc.reason)
                for trial in self.trials.values():
                    trial.suspects.clear()  # sent again after the wait, judged again
                    trial.cursor = 0
                if time.monotonic() + delay >= self.deadline:
                    break
                self.wait(delay, exc.reason)
                self.prepare()
                continue
            if not progressed:
                break
        for ch in active:
            trial = self.trials[ch.signal]
            if trial.suspects and not trial.accepted:
                if self._probe(ch):
                    self._proven(ch)
                    continue
                # Every record tried was rejected on its own: the endpoint is wrong.
                every = _EndpointWrong(trial.suspects[-1][1], True)
                if ch.signal in PRIMARY:
                    wrong.append((ch, every))
                else:
                    trial.suspects.clear()
                    self.result.of(ch.signal).stopped = every.describe()
        if wrong:
            self.refused(wrong)
        blocked = self.settings.delivery.blocked if self.settings.delivery else {}
        for ch in self.channels:
            self.result.of(ch.signal).kept = self.ledger.backlog(ch.signal)
        for signal in blocked:
            r = self.result.of(signal)
            r.stopped, r.blocked = "protocol not supported", True
            r.kept = self.ledger.backlog(signal)
        if not self.result.kept_any:
            self.result.kept_reason = None
            self.result.next_retry = None
        elif self.result.next_retry is None:
            self.result.kept_reason = self.result.kept_reason or "time budget spent"
        self.finish()
        return self.result

    def refused(self, wrong: list[tuple[otel.Channel, _EndpointWrong]]) -> None:
        """Keep everything, back off long, and remember why (``status``, ``doctor``)."""
        ch, exc = wrong[0]
        for other, _ in wrong:
            self.trials[other.signal].suspects.clear()
            self.result.of(other.signal).stopped = "endpoint refuses every request"
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
                "url": ch.display,
                "signal": ch.signal,
                "time": time.time(),
            },
            failures + 1,
            next_retry,
        )
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


def request(
    session: Any, ch: otel.Channel, body: bytes, timeout: float, requests: Any
) -> tuple[int, tuple[bytes, str | None], float | None]:
    """One POST of ``body`` on ``ch``: (status, (2xx body, its content type), Retry-After).

    Raises :class:`_Retry` for a timeout, a network error or unusable TLS files.
    """
    headers = {
        **ch.headers,
        "Content-Type": ch.content_type,
        "User-Agent": f"autotelemetry/{spawn_version()}",
    }
    if ch.compression == "gzip":
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    try:
        response = session.post(
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
    except requests.Timeout:
        raise _Retry("timeout") from None
    except requests.RequestException as exc:
        raise _Retry(f"network error ({type(exc).__name__})") from None
    except OSError as exc:  # e.g. a CA bundle or client certificate that is no usable file
        raise _Retry(f"TLS setup failed ({exc})") from None
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return code, (answer, response.headers.get("Content-Type")), retry_after


class _Permanent(Exception):
    def __init__(self, code: int, items: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.items = items


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
    """Send one empty request (no event) on the first channel, as a sender would:
    (HTTP status or None, detail).

    For ``doctor --send-test``: the endpoint's answer to our format, URL and
    credentials, without touching the store.
    """
    import requests

    if not settings.channels:
        return None, "nothing can be sent (no channel)"
    ch = settings.channels[0]
    if ch.signal == "events":
        from autotelemetry.exporters import webhook

        body = webhook.encode_data(webhook.request([], {}))
    else:
        from autotelemetry.exporters import otlp

        empty = (
            otlp.traces_request([], None)
            if ch.signal == "traces"
            else otlp.logs_request([], {}, None)
        )
        body = otlp.encode(empty, ch.encoding)
    start = time.perf_counter()
    try:
        with requests.Session() as session:
            code = request(session, ch, body, timeout, requests)[0]
    except _Retry as exc:
        return None, f"POST {ch.display}: no answer ({exc.reason})"
    ms = (time.perf_counter() - start) * 1000
    headers = ", ".join(sorted(ch.headers)) or "no headers"
    return (
        code,
        f"POST {ch.display} (empty {ch.signal} request as {ch.encoding}, {headers}): "
        f"HTTP {code} in {ms:.0f} ms",
    )


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
    if values.disabled_reason() is not None:
        return 0
    settings = Settings.from_env()
    if not settings.endpoint:
        return 0
    home = identity.home_dir()
    try:
        fs.private_dir(home, create=False)
    except OSError:
        return 0  # refused (status and doctor say why) or gone: nothing to send from
    url = settings.endpoint

    def log(line: str) -> None:
        _log_line(home, line, url)

    log("start")
    if not settings.channels:
        # Configured but nothing can be sent (gRPC only, no endpoint for any enabled
        # signal): say so once per backoff period instead of starting every interval.
        d = settings.delivery
        why = "; ".join(d.problems + d.notes) if d else ""
        log(f"nothing can be sent: {why or 'no channel'}; exiting")
        spawn.touch(home, time.time() + settings.retry_cap - spawn.interval())
        return 0
    for ch in settings.channels:
        problem = endpoint.header_problem(ch.headers, ch.headers_source or "AUTOTELEMETRY_HEADERS")
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
            worked = _work(home, settings, log)
            release(held)
            held = None
            # A CLI that wrote its event after the last look at the spool, while the
            # lock was still held, could not start a sender: look once more. Not after
            # an error (a refused or unreadable store): it would only fail again, at once.
            if worked and pending(home):
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


def _work(home: str, settings: Settings, log: Callable[[str], None]) -> bool:
    """Send, then linger while the spawn window is open (CLIs finishing meanwhile do not spawn).

    ``False`` when an error stopped it: the events are kept, and the next sender is
    spawned no sooner than the longest backoff, as when nothing can be sent.
    """
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
                    return True
                result = sender.run()
            finally:
                sender.close()
            log(result.summary())
            if result.next_retry is not None:
                spawn.touch(home, result.next_retry - interval)
                return True
            if result.kept_any:  # budget spent with work left: let the next CLI start one
                spawn.touch(home, 0)
                return True
            while True:
                if time.monotonic() - started > settings.budget:
                    spawn.touch(home, 0)
                    return True
                if spawn.due(home, time.time()) and not pending(home):
                    return True
                if pending(home):
                    break
                time.sleep(0.25)
    except Exception as exc:
        try:
            log(f"error: {type(exc).__name__}: {exc}; exiting, the events are kept")
            if is_corrupt(exc):  # damaged mid-use: set aside (and salvaged) for the next run
                store = Store(home)
                store.recover()
                store.close()
                log(f"corrupt store set aside as {store.recovered_from}")
            else:
                spawn.touch(home, time.time() + settings.retry_cap - interval)
        except Exception:
            pass
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
