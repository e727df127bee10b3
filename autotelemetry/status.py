"""What `autotelemetry status` reports: whether recording is on and why, as data.

Read-only: it looks at the environment, the allowlist and config files, the
home directory, the spool and (opened read-only) the store; it creates,
tightens or ingests nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from autotelemetry import __version__, endpoint, otel, trust
from autotelemetry.hook import allowlist, config, configfile, identity, options, values
from autotelemetry.hook.boot import state as boot_state
from autotelemetry.hook.values import disabled_reason
from autotelemetry.store import health, ledger, store_path
from autotelemetry.store import ingest as spool_reader


def hook_files() -> list[str]:
    """The `.pth`/`.start` hook files in this interpreter's site directories."""
    import site

    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user:
        dirs.append(user)
    found = []
    for directory in dirs:
        for name in ("autotelemetry.pth", "autotelemetry.start"):
            path = os.path.join(directory, name)
            if os.path.exists(path):
                found.append(path)
    return found


def home_problems(home: str) -> list[str]:
    """Why the home cannot hold our state (and the fix), looked at without changing it.

    The same checks the host side makes (:mod:`autotelemetry.trust`): a refused home or
    state directory, entries that are not ours, a home we cannot write.
    """
    findings = trust.home_findings(home)
    problems = [str(f) for f in findings]
    if not findings and os.path.isdir(home) and not os.access(home, os.W_OK):
        problems.append(f"home {home} is not writable: nothing can be recorded")
    home_refused = bool(findings) and findings[0].path == home
    if not home_refused or "writable" in findings[0].why:  # a directory of ours: its entries
        problems.extend(str(f) for f in trust.foreign_entries(home))
    return problems


def variables() -> dict[str, dict[str, Any]]:
    """The environment-only options whose variable is set: value and source.

    Header values are credentials: only their names are shown.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, variable, _kind, _default, file, *_ in options.OPTIONS:
        if file or variable is None or variable not in os.environ:
            continue
        value = values.value(name)
        if name == "headers" and isinstance(value, str):
            value = ",".join(item.partition("=")[0].strip() for item in value.split(","))
        out[name] = {"value": shown(name, value), "source": variable}
    return out


def variable_problems(environ: Mapping[str, str]) -> list[str]:
    """Environment-only options whose variable is set to something invalid (then ignored);
    the settings report their own problems (``Settings.problems``)."""
    problems = []
    for name, variable, _kind, _default, file, *_ in options.OPTIONS:
        if file or variable is None:
            continue
        raw = environ.get(variable)
        if raw is not None:
            why = values.coerce(name, raw)[1]
            if why is not None:
                problems.append(f"{variable}: {why}, ignored")
    return problems


def shown(key: str, value: Any) -> Any:
    """A setting's value as `status` may show it: the endpoint without its secrets."""
    if key == "endpoint" and isinstance(value, str) and value:
        return endpoint.display(value)
    return value


def status_data() -> dict[str, Any]:
    """Everything `status` shows, as data (what ``status --json`` prints)."""
    home = identity.home_dir()
    allow = allowlist.load_allowlist()
    count, size = spool_reader.stats(home)
    db = store_path(home)
    problems: list[str] = list(allow.problems)
    problems.extend(home_problems(home))
    found_hooks = hook_files()
    if not found_hooks:
        problems.append(
            "the start-up hook (autotelemetry.pth) is not installed in this environment"
        )
    settings = configfile.load_settings()
    problems.extend(settings.problems)
    problems.extend(variable_problems(os.environ))
    sending = otel.resolve(settings)
    problems.extend(p for p in sending.problems if p not in problems)
    problems.extend(health(home))
    for ch in sending.channels:  # the headers each channel would send
        header = endpoint.header_problem(ch.headers, ch.headers_source or "AUTOTELEMETRY_HEADERS")
        if header is not None and f"{header}: nothing can be sent" not in problems:
            problems.append(f"{header}: nothing can be sent")
    quarantined = spool_reader.quarantined(home)
    untrusted = [n for n in quarantined if n.startswith(spool_reader.UNTRUSTED)]
    corrupt = len(quarantined) - len(untrusted)
    if corrupt:
        problems.append(
            f"{corrupt} corrupt spool file(s) set aside in {os.path.join(home, 'quarantine')}"
        )
    if untrusted:
        problems.append(
            f"{len(untrusted)} spool entr(ies) not yours (symlinks, FIFOs, other users' files) "
            f"set aside unread in {os.path.join(home, 'quarantine')} (untrusted-*); "
            "fix: find out who planted them, then delete them"
        )
    reason = disabled_reason()
    if reason is None and settings.values["enabled"] is False:
        reason = f"enabled = false in {settings.sources['enabled']}"
    try:
        signals = tuple(ch.signal for ch in sending.channels)
        delivery: dict[str, Any] = ledger.status(home, signals)
    except Exception as exc:  # a status must show the rest
        delivery = {"error": f"{type(exc).__name__}: {exc}"}
    problems.extend(delivery_problems(delivery, settings.values["endpoint"]))
    return {
        "version": __version__,
        "enabled": reason is None,
        "disabled_reason": reason,
        "hook_files": found_hooks,
        "hook_active": bool(boot_state["active"]),
        "python": sys.executable,
        "home": home,
        "allowlist": {
            "files": allow.files,
            "entries": [
                {
                    "pattern": e.pattern,
                    "source": e.source,
                    "line": e.line,
                    "excludes": list(e.excludes),
                }
                for e in allow.entries
            ],
        },
        "config_files": settings.files,
        "settings": {
            key: {"value": shown(key, settings.values[key]), "source": settings.sources[key]}
            for key in config.DEFAULTS
        },
        "variables": variables(),
        "per_cli": [
            {"cli": pattern, "key": key, "value": value, "source": source}
            for pattern, key, value, source in settings.clis
        ],
        "spool": {"pending_files": count, "pending_bytes": size, "quarantined": len(quarantined)},
        "store": {"path": db, "bytes": os.lstat(db).st_size if os.path.lexists(db) else 0},
        "endpoint": shown("endpoint", settings.values["endpoint"]),
        "sending": sending.describe(),
        "delivery": delivery,
        "problems": problems,
    }


def delivery_problems(delivery: dict[str, Any], endpoint: object) -> list[str]:
    """What the delivery state says is wrong: said loudly (``status`` and ``doctor``)."""
    problems = []
    error = delivery.get("endpoint_error")
    if isinstance(error, dict) and endpoint:
        problems.append(
            f"{error.get('reason')} (at {error.get('url')}); {delivery.get('backlog') or 0} "
            f"event(s) kept, none dropped; fix: {error.get('fix')}"
        )
    for salvage in delivery.get("salvages") or []:
        if isinstance(salvage, dict) and salvage.get("lost"):
            problems.append(
                f"a corrupt store ({salvage.get('aside')}) lost {salvage['lost']} event(s) "
                f"({salvage.get('lost_undelivered', 0)} never delivered; counted as "
                f"store_corrupt); {salvage.get('saved', 0)} were saved into the new store"
            )
    return problems


__all__ = [
    "delivery_problems",
    "home_problems",
    "hook_files",
    "status_data",
    "variable_problems",
    "variables",
]
