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

from autotelemetry.exporters import get as get_exporter
from autotelemetry.hook import allowlist, config, fs, spawn, spool
from autotelemetry.store import Store, is_corrupt
from autotelemetry.store.ingest import eviction_marks, ingest, pending
from autotelemetry.store.ledger import Ledger, Row

LOCK = "sender.lock"
LOG = "sender.log"
#: Status codes that will not succeed on retry: the batch is split, then dropped.
PERMANENT = frozenset({400, 401, 403, 404, 405, 410, 411, 413, 415, 422})
#: Permanent codes that concern the request as a whole (auth, address): no split.
WHOLE = frozenset({401, 403, 404, 405, 410})


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


class _Stop(Exception):
    """A permanent failure of the whole request (auth, address): stop this run."""

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
        self.exporter = get_exporter(settings.protocol)
        self.url = self.exporter.url(settings.endpoint or "")
        self.progress = progress
        self.wait = wait or (lambda seconds, reason: time.sleep(seconds))
        self.log = log or (lambda line: sys.stderr.write("autotelemetry: " + line + "\n"))
        self.session = requests.Session()
        self.session.verify = settings.ca_bundle or True  # never off
        self.session.headers.update(settings.headers)
        self.requests = requests
        self.store = Store(home)
        self.ledger = Ledger(self.store)
        self.result = Result()
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
        unsent = self.ledger.cap(self.settings.store_max_events)
        if unsent:
            self.result.dropped["store_cap"] = self.result.dropped.get("store_cap", 0) + unsent

    # --- sending -----------------------------------------------------------------

    def post(self, rows: list[tuple[int, str]]) -> dict[str, int]:
        """POST one batch; returns the drop counts it carried, raises on failure."""
        events = [json.loads(body) for _, body in rows]
        carried = self.ledger.unreported()
        payload = self.exporter.encode(events, carried)
        if self.settings.debug:
            self.log(
                f"POST {self.url} ({len(events)} event(s), headers {masked(self.settings.headers)})"
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
        else:
            self.result.dropped[str(reason)] = self.result.dropped.get(str(reason), 0) + len(rows)
        if self.settings.debug:
            verdict = "sent" if sent else f"dropped ({reason})"
            self.log(f"{verdict}: {len(rows)} event(s)")
        if self.progress:
            self.progress(self.result)

    def send(self, rows: list[tuple[int, str]]) -> None:
        """Send ``rows``; permanent rejections split the batch down to the bad event."""
        try:
            carried = self.post(rows)
        except _Permanent as exc:
            if exc.code in WHOLE:
                self._advance(rows, False, f"http_{exc.code}", None)
                raise _Stop(f"HTTP {exc.code}") from None
            if len(rows) > 1:
                half = len(rows) // 2
                self.send(rows[:half])
                self.send(rows[half:])
                return
            self._advance(rows, False, f"http_{exc.code}", None)
            return
        self._advance(rows, True, None, carried)

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
                rows = self.ledger.batch(self.settings.batch)
                if not rows:
                    break
                try:
                    self.send(rows)
                except _Retry as exc:
                    failures = self.ledger.failures()
                    delay = self.backoff(failures, exc.retry_after)
                    self.record_failure(failures + 1, delay, exc.reason)
                    if time.monotonic() + delay >= self.deadline:
                        break
                    self.wait(delay, exc.reason)
                    self.prepare()
        except _Stop as exc:
            failures = self.ledger.failures()
            delay = self.backoff(failures + 5, None)
            self.record_failure(failures + 1, delay, exc.reason)
        self.result.kept = self.ledger.backlog()
        if self.result.kept and self.result.next_retry is None:
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
