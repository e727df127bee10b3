"""`autotelemetry doctor`: check everything that decides whether events are recorded.

Reader side (never imported by host CLIs). Every check yields a :class:`Check`
with a level (``ok``, ``warn``, ``fail``), what was found, and for anything
not ok the fix. ``fail`` means events are lost or not recorded as configured;
``warn`` means a choice or a leftover worth knowing about. The command exits
1 when any check fails.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from autotelemetry import endpoint, trust
from autotelemetry.hook import allowlist, config, configfile, fs, identity
from autotelemetry.hook.values import disabled_reason
from autotelemetry.status import hook_files, variable_problems
from autotelemetry.store import corrupt_copies, health
from autotelemetry.store.ingest import UNTRUSTED, pending, quarantined


@dataclass
class Check:
    name: str
    level: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _sitecustomize() -> tuple[str | None, bool]:
    """(path of the sitecustomize module found on sys.path, whether it is ours)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("sitecustomize")
    except (ImportError, ValueError):
        return None, False
    path = getattr(spec, "origin", None) if spec else None
    if not path or not os.path.isfile(path):
        return None, False
    try:  # not a file of ours, but never blocked on: a FIFO there must not hang doctor
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            regular = os.fstat(fd).st_mode & 0o170000 == 0o100000
            text = os.read(fd, 65536).decode("utf-8", "replace") if regular else ""
        finally:
            os.close(fd)
        ours = "_autotelemetry_boot" in text or "autotelemetry.hook.boot" in text
    except OSError:
        ours = False
    return path, ours


def _boot_in_fresh_interpreter() -> bool | None:
    """Whether a plain start of this interpreter activates the boot (None: unknown)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("AUTOTELEMETRY_DISABLED", "DO_NOT_TRACK")
    }
    code = (
        "import sys; m = sys.modules.get('autotelemetry.hook.boot'); "
        "print(bool(m and m.state['active']))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() == "True"


def check_hook() -> list[Check]:
    checks = []
    files = hook_files()
    custom, ours = _sitecustomize()
    if sys.flags.no_site:
        checks.append(
            Check(
                "interpreter",
                "fail",
                "this interpreter runs with -S: site-packages .pth files are never processed",
                "run Python without -S (or `autotelemetry run` the program)",
            )
        )
    if files:
        checks.append(Check("hook", "ok", "installed: " + ", ".join(files)))
    elif ours:
        checks.append(Check("hook", "ok", f"no .pth file; activated by {custom}"))
    else:
        checks.append(
            Check(
                "hook",
                "fail",
                "the start-up hook (autotelemetry.pth) is not in this interpreter's site-packages",
                "reinstall (`pip install --force-reinstall autotelemetry`), or install the "
                "sitecustomize template: `autotelemetry sitecustomize > DIR/sitecustomize.py` "
                "with DIR on sys.path",
            )
        )
    active = _boot_in_fresh_interpreter()
    if active:
        checks.append(Check("boot", "ok", f"{sys.executable} activates the boot at start-up"))
    elif active is False and (files or ours):
        checks.append(
            Check(
                "boot",
                "fail",
                f"{sys.executable} does not activate the boot at start-up although the hook "
                "is installed (an import error in the hook, or a site directory not processed)",
                "run `AUTOTELEMETRY_DEBUG=1 python -c pass` to see the error; reinstall",
            )
        )
    if custom and not ours:
        loaded = "sitecustomize" in sys.modules
        checks.append(
            Check(
                "sitecustomize",
                "ok" if loaded else "warn",
                f"another sitecustomize exists ({custom}); the .pth hook runs before it and "
                "does not depend on it" + ("" if loaded else "; it failed to import at start-up"),
                "" if loaded else f"run `{sys.executable} -c 'import sitecustomize'` to see why",
            )
        )
    elif custom and ours and files:
        checks.append(
            Check(
                "sitecustomize",
                "ok",
                f"the sitecustomize template ({custom}) and the .pth are both present; "
                "activation is idempotent, the boot runs once",
            )
        )
    return checks


def check_switches(settings: config.Settings) -> list[Check]:
    reason = disabled_reason()
    if reason:
        return [
            Check("enabled", "warn", f"telemetry is off: {reason}", "unset it to record events")
        ]
    if settings.values["enabled"] is False:
        source = settings.sources["enabled"]
        return [
            Check(
                "enabled",
                "warn",
                f"telemetry is off: enabled = false in {source}",
                "`autotelemetry enable`"
                + (
                    ""
                    if source.startswith(identity.home_dir())
                    else f" (and remove it from {source})"
                ),
            )
        ]
    return [Check("enabled", "ok", "telemetry is on for allowlisted programs")]


def check_allowlist() -> list[Check]:
    allow = allowlist.load_allowlist()
    checks = [
        Check(
            "allowlist",
            "fail",
            problem,
            "fix or remove that line (program names or globs, one per line; "
            "`mycli !sub` excludes a subcommand)"
            if " skipped: " in problem or "' ignored: " in problem
            else "fix the file's permissions or contents (see docs/configuration.md)",
        )
        for problem in allow.problems
    ]
    if not allow.entries:
        empty = [f for f in allow.files if os.path.isfile(f)]
        checks.append(
            Check(
                "allowlist",
                "warn",
                "nothing is allowlisted"
                + (f" ({', '.join(empty)} has no entries)" if empty else "")
                + ": no program records events",
                "`autotelemetry allow NAME`",
            )
        )
    elif not checks:
        names = ", ".join(e.pattern for e in allow.entries)
        checks.append(Check("allowlist", "ok", f"{len(allow.entries)} entr(ies): {names}"))
    return checks


def check_config(settings: config.Settings) -> list[Check]:
    """The config files and the variables: a setting's problem fails (a file to fix, or a
    variable ignored in favour of the next source); an environment-only option's variable
    set to something invalid warns (its default applies), with an endpoint or without."""
    checks = []
    for problem in settings.problems:
        fix = "fix the file (TOML; see docs/configuration.md)"
        if problem.startswith(("AUTOTELEMETRY_", "OTEL_")):
            fix = "fix or unset the variable (see docs/configuration.md)"
        checks.append(Check("config", "fail", problem, fix))
    for problem in variable_problems(os.environ):
        checks.append(Check("config", "warn", problem, "fix or unset the variable"))
    if not checks:
        present = [f for f in settings.files if os.path.exists(f)]
        checks.append(Check("config", "ok", "read " + (", ".join(present) or "no config files")))
    return checks


def check_home() -> list[Check]:
    """The home and its state directories as the host sees them, the files in them that
    are not ours, and whether a file can be created there (one probe, deleted)."""
    home = identity.home_dir()
    try:
        st = os.lstat(home)
    except FileNotFoundError:
        parent = os.path.dirname(home)
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if os.access(parent, os.W_OK):
            return [Check("home", "ok", f"{home} does not exist yet; it will be created (0700)")]
        return [
            Check(
                "home",
                "fail",
                f"{home} does not exist and {parent} is not writable",
                "set AUTOTELEMETRY_HOME to a writable directory",
            )
        ]
    except OSError as exc:
        return [Check("home", "fail", f"{home}: {exc.strerror}", "set AUTOTELEMETRY_HOME")]
    refused = trust.home_findings(home)
    checks = [Check("home", "fail", f"{f.path} {f.why}: {f.effect}", f.fix) for f in refused]
    if refused and refused[0].path == home and "writable" not in refused[0].why:
        return checks  # not a directory of ours: nothing in it is looked at
    checks += [
        Check("home", "fail", f"{f.path} {f.why}: {f.effect}", f.fix)
        for f in trust.foreign_entries(home)
    ]
    if st.st_mode & 0o077:
        checks.append(
            Check(
                "home",
                "warn",
                f"{home} can be listed by other users (mode {st.st_mode & 0o777:03o}); the "
                "files in it are private (0600)",
                f"chmod 700 {shlex.quote(home)}",
            )
        )
    skew = 0.0
    try:
        skew = _probe(home)
    except OSError as exc:
        checks.append(
            Check(
                "home",
                "fail",
                f"{home} is not writable ({exc.strerror or exc}): nothing can be recorded",
                "fix its permissions or set AUTOTELEMETRY_HOME",
            )
        )
    if not checks:
        checks.append(Check("home", "ok", f"{home} is ours, private and writable"))
    if abs(skew) > 300:
        checks.append(
            Check(
                "clock",
                "warn",
                f"the file system's clock differs from this machine's by {skew:.0f} s",
                "synchronise the clocks (NTP) of this machine and its file server",
            )
        )
    return checks


def _probe(home: str) -> float:
    """Create, write and delete one file in ``home`` as a writer would (an unpredictable
    ``.doctor.*.tmp`` name, exclusive, 0600); the file system's clock skew in seconds."""
    probe = os.path.join(home, f".doctor.{os.urandom(8).hex()}.tmp")
    fd = fs.open_file(probe, os.O_WRONLY, create=True)[0]
    try:
        try:
            os.write(fd, b"x")
            return os.fstat(fd).st_mtime - time.time()
        finally:
            os.close(fd)
    finally:
        os.unlink(probe)


def check_clock() -> list[Check]:
    now = time.time()
    year = time.gmtime(now).tm_year
    if not 2024 <= year < 2100:
        return [
            Check(
                "clock",
                "fail",
                f"the system clock says {time.strftime('%Y-%m-%d', time.gmtime(now))}",
                "set the clock (NTP); event timestamps are wrong until then",
            )
        ]
    newest = pending(identity.home_dir())[-1:]
    if newest:
        try:
            written = int(os.path.basename(newest[0]).split("-", 1)[0]) / 1e9
        except ValueError:
            written = 0.0
        if written - now > 86400:
            return [
                Check(
                    "clock",
                    "warn",
                    "a pending event was written more than a day in the future: "
                    "the clock was changed",
                    "check the clock (NTP)",
                )
            ]
    return [Check("clock", "ok", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))]


def check_endpoint(settings: config.Settings, timeout: float = 2.0) -> list[Check]:
    url = settings.values["endpoint"]
    if not url:
        return [Check("endpoint", "ok", "none configured: events stay on this machine")]
    import socket
    from urllib.parse import urlsplit

    from autotelemetry import otel

    for ch in otel.resolve(settings).channels:  # the headers each channel would send
        header = endpoint.header_problem(ch.headers, ch.headers_source or "AUTOTELEMETRY_HEADERS")
        if header is None:
            continue
        return [
            Check(
                "endpoint",
                "fail",
                f"{header}: nothing is sent, the events are kept",
                "set AUTOTELEMETRY_HEADERS to Latin-1 values (k=v,k2=v2; percent-decoded)",
            )
        ]
    shown = endpoint.display(str(url))
    try:
        parts = urlsplit(str(url))
    except ValueError:
        parts = urlsplit("")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if not host or not port:
        return [
            Check(
                "endpoint",
                "fail",
                f"cannot parse the endpoint from {settings.sources['endpoint']}",
                "use http(s)://host[:port][/path]",
            )
        ]
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        ms = (time.perf_counter() - start) * 1000
        return [
            Check(
                "endpoint",
                "fail",
                f"{shown}: {host}:{port} unreachable after {ms:.0f} ms "
                f"({exc.strerror or type(exc).__name__})",
                "check the URL, the network and proxies; events wait in the spool meanwhile",
            )
        ]
    ms = (time.perf_counter() - start) * 1000
    return [Check("endpoint", "ok", f"{shown} reachable (TCP connect {ms:.0f} ms)")]


#: What each drop reason means, and what to do about it (docs/delivery.md).
DROP_REASONS = {
    "spool_evicted": (
        "spool files evicted by the spool caps (oldest first)",
        "run `autotelemetry flush` (or any command that reads the store) more often, or raise "
        "AUTOTELEMETRY_SPOOL_MAX_FILES / _MAX_BYTES / _MAX_AGE",
    ),
    "store_cap": (
        "stored events deleted by the store cap before they were sent",
        "raise AUTOTELEMETRY_STORE_MAX_EVENTS / _MAX_BYTES, or make sure the endpoint takes them",
    ),
    "invalid": (
        "spool records that were not valid events (quarantined)",
        "inspect the files in the quarantine directory; a program writing into the spool?",
    ),
    "store_corrupt": (
        "events lost with a corrupt store before they were sent",
        "check the disk (the store was damaged); the corrupt copy is kept for inspection",
    ),
    "crash_repeats_expired": (
        "repeats of a crash (rate-limited) that no later crash of the same kind carried",
        "nothing to do: they were counted, not sent",
    ),
}


def check_delivery_state(settings: config.Settings) -> list[Check]:
    """What was dropped and why, the backlog and its age, the last send, an endpoint that
    refuses requests: read from the store, opened read-only."""
    from autotelemetry.status import delivery_problems
    from autotelemetry.store import ledger

    home = identity.home_dir()
    state = ledger.status(home)
    endpoint = settings.values["endpoint"]
    checks = []
    error = state.get("endpoint_error")
    if isinstance(error, dict) and endpoint:
        checks.append(
            Check(
                "delivery",
                "fail",
                f"{error.get('reason')} (at {error.get('url')}): {state.get('backlog') or 0} "
                "event(s) kept, none dropped; sending resumes after a long backoff",
                str(error.get("fix")),
            )
        )
    for reason, n in sorted((state.get("dropped") or {}).items()):
        what, fix = DROP_REASONS.get(reason, ("", ""))
        if reason.startswith("http_"):
            what = (
                f"events the endpoint rejected one by one with HTTP {reason[5:]} (bad on their own)"
            )
            fix = "see the collector's logs for why it rejects them"
        checks.append(
            Check(
                "dropped", "warn", f"{n} {what or reason} ({reason})", fix or "see docs/delivery.md"
            )
        )
    for problem in delivery_problems({**state, "endpoint_error": None}, endpoint):
        checks.append(Check("store", "warn", problem, "check the disk; see docs/reliability.md"))
    backlog = state.get("backlog")
    if endpoint and backlog:
        oldest = state.get("oldest_unsent")
        age = _age_days(oldest)
        detail = f"{backlog} event(s) not yet sent" + (
            f", the oldest from {oldest}" if oldest else ""
        )
        if age is not None and age > 1:
            checks.append(
                Check(
                    "backlog",
                    "warn",
                    detail + f" ({age:.0f} day(s) old)",
                    "`autotelemetry flush` to send now and see why it fails",
                )
            )
        else:
            checks.append(Check("backlog", "ok", detail))
    elif endpoint and backlog == 0:
        checks.append(Check("backlog", "ok", "every stored event was sent"))
    last = state.get("last")
    if endpoint and isinstance(last, dict):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(last.get("time") or 0)))
        detail = f"{when}: sent {last.get('sent')}, kept {last.get('kept')}"
        if last.get("kept_reason"):
            detail += f" ({last['kept_reason']})"
        level = "warn" if last.get("kept") and last.get("kept_reason") else "ok"
        checks.append(
            Check("last send", level, detail, "`autotelemetry flush` retries now" if level else "")
        )
    return checks


def _age_days(timestamp: object) -> float | None:
    import calendar

    if not isinstance(timestamp, str):
        return None
    try:
        t = calendar.timegm(time.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return (time.time() - t) / 86400


def check_send_test(settings: config.Settings, timeout: float) -> list[Check]:
    """One empty request (no event) with the configured headers: what the endpoint answers."""
    if not settings.values["endpoint"]:
        return []
    from autotelemetry import sender

    code, detail = sender.probe(sender.Settings.from_env(), timeout)
    if code is not None and 200 <= code < 300:
        return [Check("send test", "ok", detail)]
    fix = "check the network, proxies and AUTOTELEMETRY_ENDPOINT"
    if code is not None:
        fix = sender.FIXES.get(code, "see the endpoint's logs; docs/delivery.md lists the rules")
    return [Check("send test", "fail", detail, fix)]


def check_delivery(settings: config.Settings) -> list[Check]:
    """How events are sent (OTLP signals, protocols, OTEL_* fallbacks) and what the
    collector said about them (partial success, a signal it refuses)."""
    from autotelemetry import otel
    from autotelemetry.store import ledger

    sending = otel.resolve(settings)
    if not sending.endpoint:
        return []
    checks = []
    for why in sending.blocked.values():
        checks.append(
            Check(
                "protocol",
                "fail",
                why,
                "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (or AUTOTELEMETRY_PROTOCOL) and "
                "point the endpoint at the collector's OTLP/HTTP port (usually 4318)",
            )
        )
    for problem in sending.problems:
        if problem not in sending.blocked.values():
            checks.append(Check("sending", "warn", problem, "fix or unset the variable"))
    for ch in sending.channels:
        checks.append(
            Check(
                "sending",
                "ok",
                f"{ch.signal} to {ch.display} as {ch.encoding} ({ch.url_source}"
                + (f", headers from {ch.headers_source}" if ch.headers_source else "")
                + ")",
            )
        )
    for note in sending.notes:
        checks.append(Check("sending", "ok", note))
    state = ledger.status(identity.home_dir(), tuple(ch.signal for ch in sending.channels))
    for signal, note in sorted((state.get("rejected") or {}).items()):
        what = "span(s)" if signal == "traces" else "log record(s)"
        message = note.get("message") or "no message"
        checks.append(
            Check(
                "collector",
                "warn",
                f"the collector rejected {note.get('count', 0)} {what} (partial success): "
                f"{message}",
                "see the collector's logs and limits; rejected items are counted as dropped "
                "(`status`), never retried",
            )
        )
    traces = state.get("traces")
    refused = (traces or {}).get("dropped", {}) if isinstance(traces, dict) else {}
    if refused.get("http_404"):
        checks.append(
            Check(
                "collector",
                "warn",
                f"the endpoint answered 404 to spans ({refused['http_404']} dropped): its "
                "collector has no traces pipeline",
                "add a traces pipeline to the collector, or set AUTOTELEMETRY_SIGNALS=logs",
            )
        )
    return checks


def check_storage() -> list[Check]:
    home = identity.home_dir()
    checks = []
    aside = quarantined(home)
    untrusted = [n for n in aside if n.startswith(UNTRUSTED)]
    bad = len(aside) - len(untrusted)
    if bad:
        checks.append(
            Check(
                "spool",
                "warn",
                f"{bad} corrupt spool file(s) set aside in {os.path.join(home, 'quarantine')}",
                "inspect them, then delete that directory",
            )
        )
    if untrusted:
        where = os.path.join(home, "quarantine")
        checks.append(
            Check(
                "spool",
                "warn",
                f"{len(untrusted)} spool entr(ies) not yours (symlinks, FIFOs, other users' "
                f"files) were set aside unread in {where}",
                f"find out who planted them, then `rm {shlex.quote(where)}/{UNTRUSTED}*`",
            )
        )
    copies = corrupt_copies(home)
    for problem in health(home):
        if any(name in problem for name in copies):
            continue  # reported below, as a leftover
        checks.append(
            Check(
                "store",
                "fail",
                problem,
                "`autotelemetry events` sets it aside and starts a new store",
            )
        )
    if copies:
        checks.append(
            Check(
                "store",
                "warn",
                f"{len(copies)} corrupt store(s) set aside: {', '.join(copies)}",
                f"delete them from {home} once inspected",
            )
        )
    if not checks:
        checks.append(Check("storage", "ok", "spool and store are readable"))
    return checks


def run_checks(timeout: float = 2.0, send_test: bool = False) -> list[Check]:
    settings = configfile.load_settings()
    checks: list[Check] = []
    for step in (
        check_hook,
        lambda: check_switches(settings),
        check_allowlist,
        lambda: check_config(settings),
        check_home,
        check_clock,
        lambda: check_endpoint(settings, timeout),
        lambda: check_delivery(settings),
        lambda: check_send_test(settings, timeout) if send_test else [],
        lambda: check_delivery_state(settings),
        check_storage,
    ):
        try:
            checks.extend(step())
        except Exception as exc:  # a check must not hide the others
            checks.append(Check("doctor", "fail", f"a check crashed: {type(exc).__name__}: {exc}"))
    return checks


__all__ = ["Check", "run_checks"]
