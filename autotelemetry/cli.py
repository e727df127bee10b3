"""The `autotelemetry` command: see what is recorded, decide what is, and run things.

This is the reader side: it may import Click, SQLite and friends, because host
CLIs never import it. `autotelemetry run` is dispatched before Click loads
(:func:`main`), so instrumenting one invocation costs nothing extra.
"""

from __future__ import annotations

import json
import os
import sys

import click

from autotelemetry import __version__, config, spool
from autotelemetry._boot import disabled_reason
from autotelemetry._boot import state as boot_state


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"] and args[1:2] not in (["--help"], ["-h"], []):
        from autotelemetry import run

        run.main(args[1:])
        return
    cli.main(args=args, prog_name="autotelemetry")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="autotelemetry")
def cli() -> None:
    """Usage and crash telemetry for Click, Typer and argparse CLIs.

    Programs are recorded only when allowlisted (`autotelemetry allow NAME`) or
    started with `autotelemetry run`. Events stay on this machine unless
    AUTOTELEMETRY_ENDPOINT is set. DO_NOT_TRACK=1 or AUTOTELEMETRY_DISABLED=1
    turn everything off.

    State lives in AUTOTELEMETRY_HOME (default: the per-user state directory).
    """


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("program_and_args", nargs=-1, type=click.UNPROCESSED, required=True)
def run(program_and_args: tuple[str, ...]) -> None:
    """Run PROGRAM once, instrumented, without allowlisting it.

    PROGRAM is a console script (`mycli`), `-m MODULE`, or a script path.
    Its input, output, terminal and exit status are untouched: the program
    replaces this process. Only that process is instrumented, not the Python
    programs it starts.

    \b
    Example: autotelemetry run -- mycli db migrate --dry-run
    """
    from autotelemetry import run as runner

    runner.main(list(program_and_args))


# --- status -------------------------------------------------------------------


def status_data() -> dict:
    """Everything `status` shows, as data."""
    from autotelemetry.store import store_path

    home = config.home_dir()
    allow = config.load_allowlist()
    count, size = spool.stats(home)
    db = store_path(home)
    problems: list[str] = list(allow.problems)
    try:
        if os.path.exists(home):
            config.ensure_private_dir(home)
            if not os.access(home, os.W_OK):
                problems.append(f"home {home} is not writable: nothing can be recorded")
    except OSError as exc:
        problems.append(f"home {home}: {exc}")
    from autotelemetry.doctor import hook_files as find_hook_files

    hook_files = find_hook_files()
    if not hook_files:
        problems.append(
            "the start-up hook (autotelemetry.pth) is not installed in this environment"
        )
    settings = config.load_settings()
    problems.extend(settings.problems)
    problems.extend(_store_problems(home, db))
    quarantined = spool.quarantined(home)
    if quarantined:
        problems.append(
            f"{len(quarantined)} corrupt spool file(s) set aside in {home}/{spool.QUARANTINE_DIR}"
        )
    return {
        "version": __version__,
        "enabled": disabled_reason() is None,
        "disabled_reason": disabled_reason(),
        "hook_files": hook_files,
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
            key: {"value": settings.values[key], "source": settings.sources[key]}
            for key in config.DEFAULTS
        },
        "per_cli": [
            {"cli": pattern, "key": key, "value": value, "source": source}
            for pattern, key, value, source in settings.clis
        ],
        "spool": {"pending_files": count, "pending_bytes": size, "quarantined": len(quarantined)},
        "store": {"path": db, "bytes": os.path.getsize(db) if os.path.exists(db) else 0},
        "endpoint": settings.values["endpoint"],
        "delivery": _delivery_status(home),
        "problems": problems,
    }


def _store_problems(home: str, path: str) -> list[str]:
    """A store that cannot be read, or was set aside as corrupt (read-only check)."""
    import sqlite3

    from autotelemetry.store import corrupt_copies

    problems = [
        f"the store was corrupt and was set aside as {os.path.join(home, name)}; "
        "a fresh one was started (delete the copy once inspected)"
        for name in corrupt_copies(home)
    ]
    if os.path.exists(path):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                db.execute("SELECT count(*) FROM events").fetchone()
                if db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("database disk image is malformed")
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError) or "not a database" in str(exc):
                problems.append(
                    f"the store {path} is corrupt ({exc}); it will be set aside and "
                    "rebuilt from the spool at the next `autotelemetry events`/`report`/send"
                )
    return problems


def _delivery_status(home: str) -> dict:
    """Last send result, backlog, next retry and drop counters (see docs/delivery.md)."""
    from autotelemetry import sender

    try:
        return sender.status(home)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(as_json: bool) -> None:
    """Show whether telemetry is on, what is allowlisted, every setting and
    which source set it, and what is pending.

    Reads the environment, the allowlist and config files (per-environment
    and per-user) and the home directory; writes nothing.
    """
    data = status_data()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if data["enabled"] and data["settings"]["enabled"]["value"] is False:
        data["enabled"] = False
        data["disabled_reason"] = f"enabled = false in {data['settings']['enabled']['source']}"
    on = "yes" if data["enabled"] else f"no ({data['disabled_reason']})"
    click.echo(f"autotelemetry {data['version']}  ({data['python']})")
    click.echo(f"enabled:   {on}")
    hook = ", ".join(data["hook_files"]) or "not installed"
    click.echo(f"hook:      {hook}; active in this interpreter: {data['hook_active']}")
    click.echo(f"home:      {data['home']}")
    click.echo(f"endpoint:  {data['endpoint'] or 'none (events stay on this machine)'}")
    click.echo("allowlist: " + ", ".join(data["allowlist"]["files"]) + ", AUTOTELEMETRY_ALLOW")
    entries = data["allowlist"]["entries"]
    if not entries:
        click.echo("  (empty: nothing is recorded; `autotelemetry allow NAME` to add a CLI)")
    for e in entries:
        where = e["source"] + (f":{e['line']}" if e["line"] else "")
        excludes = "".join(f" !{x}" for x in e["excludes"])
        click.echo(f"  {e['pattern'] + excludes:<24} {where}")
    click.echo("settings:  (" + ", ".join(data["config_files"]) + ")")
    for key, item in data["settings"].items():
        value = item["value"]
        shown = "none" if value is None else json.dumps(value)
        click.echo(f"  {key:<15} {shown:<28} {item['source']}")
    for item in data["per_cli"]:
        name = f"[cli.{item['cli']}] {item['key']}"
        click.echo(f"  {name:<15} {json.dumps(item['value']):<28} {item['source']}")
    sp = data["spool"]
    click.echo(f"spool:     {sp['pending_files']} pending file(s), {sp['pending_bytes']} bytes")
    click.echo(f"store:     {data['store']['path']} ({data['store']['bytes']} bytes)")
    _echo_delivery(data)
    for problem in data["problems"]:
        click.echo(f"problem:   {problem}")


def _when(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _echo_delivery(data: dict) -> None:
    d = data.get("delivery") or {}
    if d.get("backlog") is not None and data["endpoint"]:
        click.echo(f"delivery:  {d['backlog']} stored event(s) not yet sent")
    last = d.get("last")
    if last:
        kept = f"kept {last['kept']}" + (f" ({last['kept_reason']})" if last["kept_reason"] else "")
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(last["dropped"].items()))
        click.echo(
            f"last send: {_when(last['time'])}: sent {last['sent']}, {kept}"
            + (f", dropped {drops}" if drops else "")
        )
    if d.get("next_retry"):
        click.echo(f"next retry: not before {_when(d['next_retry'])}")
    if d.get("dropped"):
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(d["dropped"].items()))
        click.echo(f"dropped:   {drops} (total, by rule; see docs/delivery.md)")


# --- allowlist ------------------------------------------------------------------


def _scope_file(scope: str | None) -> str:
    explicit = os.environ.get("AUTOTELEMETRY_ALLOWLIST")
    if explicit and scope is None:
        return os.path.abspath(explicit)
    if scope is None:
        scope = "env" if sys.prefix != sys.base_prefix else "user"
    if scope == "env":
        return os.path.join(config.env_config_dir(), "allowlist")
    return os.path.join(config.home_dir(), "allowlist")


_scope_options = [
    click.option("--env", "scope", flag_value="env", help="This environment's allowlist."),
    click.option("--user", "scope", flag_value="user", help="Your per-user allowlist."),
]


def _with_scope(f):  # type: ignore[no-untyped-def]
    for option in reversed(_scope_options):
        f = option(f)
    return f


def _first_token(line: str) -> str:
    words = line.split("#", 1)[0].split()
    return words[0] if words else ""


@cli.command()
@click.argument("name")
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="SUBCOMMAND",
    help="Record nothing for this subcommand (glob; levels joined by ':', e.g. 'db:drop'). "
    "Repeatable.",
)
@_with_scope
def allow(name: str, excludes: tuple[str, ...], scope: str | None) -> None:
    """Record the CLI NAME (a program name or a glob such as 'acme-*').

    Writes one line to the allowlist: by default this environment's
    (<prefix>/etc/autotelemetry/allowlist) inside a virtualenv, else your
    per-user one (<home>/allowlist); AUTOTELEMETRY_ALLOWLIST overrides both.
    With --exclude, the line becomes `NAME !SUBCOMMAND ...`: those
    subcommands (and everything below them) record nothing.
    """
    why = config._pattern_problem(name)
    if why:
        raise click.BadParameter(why, param_hint="NAME")
    for sub in excludes:
        if not sub or any(ch.isspace() or ch == "#" for ch in sub):
            raise click.BadParameter("no spaces or '#'; use ':' between levels", "--exclude")
    path = _scope_file(scope)
    lines = _read_lines(path)
    existing = [i for i, line in enumerate(lines) if _first_token(line) == name]
    if existing and not excludes:
        click.echo(f"{name} is already allowlisted in {path}")
        return
    if existing:
        old = lines[existing[0]].split("#", 1)[0].split()[1:]
        merged = [*old, *(f"!{x}" for x in excludes if f"!{x}" not in old)]
        lines[existing[0]] = " ".join([name, *merged])
        _write_lines(path, lines)
        click.echo(f"updated {name} in {path}: {lines[existing[0]]}")
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_lines(path, [*lines, " ".join([name, *(f"!{x}" for x in excludes)])])
    click.echo(f"allowlisted {name} in {path}")


@cli.command()
@click.argument("name")
@_with_scope
def deny(name: str, scope: str | None) -> None:
    """Stop recording NAME: remove it from the allowlist file(s).

    Without --env/--user, removes it from every allowlist file (rewriting
    <prefix>/etc/autotelemetry/allowlist and <home>/allowlist). Says so if
    NAME is still allowlisted by another source (a glob, AUTOTELEMETRY_ALLOW).
    """
    paths = [_scope_file(scope)] if scope else config.allowlist_files()
    removed = []
    for path in paths:
        lines = _read_lines(path)
        kept = [line for line in lines if _first_token(line) != name]
        if len(kept) != len(lines):
            _write_lines(path, kept)
            removed.append(path)
    for path in removed:
        click.echo(f"removed {name} from {path}")
    if not removed:
        click.echo(f"{name} was not listed in {', '.join(paths)}")
    entry = config.is_allowlisted(name, config.load_allowlist())
    if entry is not None:
        where = entry.source + (f":{entry.line}" if entry.line else "")
        click.echo(f"note: {name} is still allowlisted by {entry.pattern!r} ({where})")


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _write_lines(path: str, lines: list[str]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# --- events and report ------------------------------------------------------------


def _open_store():  # type: ignore[no-untyped-def]
    """Open the store and ingest pending spool files first."""
    from autotelemetry.store import Store

    store = Store(config.home_dir())
    if store.recovered_from:
        click.echo(
            f"autotelemetry: the store was corrupt; set aside as {store.recovered_from}", err=True
        )
    result = _recovering(store, store.ingest)
    if result.quarantined:
        click.echo(
            f"autotelemetry: {len(result.quarantined)} corrupt spool file(s) quarantined", err=True
        )
    return store


def _recovering(store, fn):  # type: ignore[no-untyped-def]
    """Run ``fn()``; if the store proves corrupt mid-use, set it aside and run it once more.

    A damaged page can pass the check at open time and fail only when read.
    """
    import sqlite3

    from autotelemetry.store import is_corrupt

    try:
        return fn()
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
    store.recover()
    click.echo(
        f"autotelemetry: the store was corrupt; set aside as {store.recovered_from}", err=True
    )
    store.ingest()
    return fn()


_filter_options = [
    click.option("--cli", "cli_name", metavar="NAME", help="Only events of this CLI."),
    click.option(
        "--since", metavar="TIME", help="Only events at or after TIME (RFC 3339, e.g. 2026-11-01)."
    ),
]


def _with_filters(f):  # type: ignore[no-untyped-def]
    for option in reversed(_filter_options):
        f = option(f)
    return f


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one event per line.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N events.")
@_with_filters
def events(as_json: bool, limit: int | None, cli_name: str | None, since: str | None) -> None:
    """List stored events, newest first.

    Reads the spool and the local store (<home>/store.sqlite). Ingests
    pending spool files into the store first (and removes them from the
    spool once stored); writes nothing else.
    """
    with _open_store() as store:
        found = _recovering(
            store, lambda: list(store.events(cli=cli_name, since=since, limit=limit))
        )
        for ev in found:
            if as_json:
                click.echo(json.dumps(ev, separators=(",", ":")))
            else:
                click.echo(_event_line(ev))


def _event_line(ev: dict) -> str:
    if ev.get("type") == "command":
        flags = " ".join(ev.get("flags") or [])
        return (
            f"{ev['timestamp']}  {ev.get('status', ''):<11} {ev.get('exit_code')!s:>3}  "
            f"{ev.get('duration_ms', 0):>8.1f} ms  {ev.get('command')}  {flags}".rstrip()
        )
    exc = ev.get("exception") or {}
    return f"{ev['timestamp']}  {ev.get('type'):<11}      {ev.get('command')}  {exc.get('type')}"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--top", type=click.IntRange(min=1), default=10, help="Rows per table.")
@_with_filters
def report(as_json: bool, top: int, cli_name: str | None, since: str | None) -> None:
    """Summarise usage per CLI: commands, flags, failure rates, p50/p95 durations.

    Reads the spool and the local store (<home>/store.sqlite); ingests pending
    spool files into the store first, writes nothing else.
    """
    from autotelemetry import report as reporting

    with _open_store() as store:
        data = _recovering(
            store, lambda: reporting.build(store, cli=cli_name, since=since, top=top)
        )
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(reporting.render(data), nl=False)


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(yes: bool) -> None:
    """Delete every stored and pending event (spool and store).

    Removes the pending spool files under <home>/spool and the events in
    <home>/store.sqlite. Keeps the allowlist, configuration and install id.
    """
    home = config.home_dir()
    if not yes:
        click.confirm(f"Delete all events under {home}?", abort=True)
    from autotelemetry.store import Store

    removed = 0
    for path in spool.pending(home):
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    with Store(home) as store:
        stored = store.purge()
    click.echo(f"purged {stored} stored event(s) and {removed} pending spool file(s)")


@cli.command()
@click.option(
    "--wait",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a sender that is already running.",
)
def flush(wait: float) -> None:
    """Send pending events to the endpoint now, in the foreground.

    Ingests the spool into the local store, then sends what the endpoint has
    not acknowledged (AUTOTELEMETRY_ENDPOINT, AUTOTELEMETRY_PROTOCOL,
    AUTOTELEMETRY_HEADERS). Prints what was sent, kept for retry and dropped
    (with reasons). Exits 1 when events are kept for a later retry.
    """
    from autotelemetry import sender as delivery

    settings = delivery.Settings.from_env()
    home = config.home_dir()
    if disabled_reason() is not None:
        click.echo(f"autotelemetry is off ({disabled_reason()}): nothing sent")
        return
    if not settings.endpoint:
        with _open_store() as store:
            n = store.count()
        click.echo(f"no endpoint configured (AUTOTELEMETRY_ENDPOINT): {n} event(s) kept locally")
        return
    try:
        delivery.get_exporter(settings.protocol)
    except ValueError as exc:
        raise click.UsageError(f"AUTOTELEMETRY_PROTOCOL: {exc}") from None
    fd = delivery.acquire(home, wait=0)
    if fd is None:
        click.echo("waiting for the running sender to finish...", err=True)
        fd = delivery.acquire(home, wait=wait)
        if fd is None:
            raise click.ClickException("a sender is still running; try again later")
    tty = sys.stderr.isatty()

    def progress(r) -> None:  # type: ignore[no-untyped-def]
        if tty:
            click.echo(
                f"\rsending: {r.sent} sent, {sum(r.dropped.values())} dropped", nl=False, err=True
            )

    try:
        worker = delivery.Sender(home, settings, progress=progress)
        click.echo(f"sending to {worker.url} ({settings.protocol})...", err=True)
        try:
            result = worker.run()
        finally:
            worker.close()
    finally:
        delivery.release(fd)
    if tty:
        click.echo("", err=True)
    click.echo(result.summary())
    if result.next_retry:
        click.echo(f"next retry not before {_when(result.next_retry)}")
    if result.kept:
        sys.exit(1)


@cli.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of events, schema version 1.

    Reads autotelemetry/schema.json from the package; writes it to stdout
    only. The fields are described in docs/events.md.
    """
    from importlib.resources import files

    click.echo(files("autotelemetry").joinpath("schema.json").read_text(encoding="utf-8"), nl=False)


# --- consent, identity, diagnosis ------------------------------------------------


def _set_user_setting(key: str, value: str) -> str:
    """Set a top-level ``key = value`` in the per-user config, keeping everything else."""
    home = config.ensure_private_dir(config.home_dir())
    path = os.path.join(home, config.CONFIG_FILE)
    lines = _read_lines(path)
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), None)
    top = lines if first_table is None else lines[:first_table]
    for i, line in enumerate(top):
        if line.split("=", 1)[0].strip() == key and "=" in line:
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(0 if first_table is None else first_table, f"{key} = {value}")
        if first_table is None and len(lines) == 1:
            lines.insert(0, "# autotelemetry user settings (see docs/configuration.md)")
    _write_lines(path, lines)
    os.chmod(path, 0o600)
    return path


@cli.command()
def enable() -> None:
    """Turn recording back on for allowlisted CLIs (persisted).

    Writes `enabled = true` to your per-user config (<home>/config.toml).
    Says so when something else still keeps telemetry off: DO_NOT_TRACK,
    AUTOTELEMETRY_DISABLED, or `enabled = false` in this environment's
    config (<prefix>/etc/autotelemetry/config.toml); off wins.
    """
    path = _set_user_setting("enabled", "true")
    click.echo(f"enabled in {path}")
    settings = config.load_settings()
    if settings.values["enabled"] is False:
        click.echo(f"note: still off because of {settings.sources['enabled']}")


@cli.command()
def disable() -> None:
    """Stop recording everything, whatever the allowlists say (persisted).

    Writes `enabled = false` to your per-user config (<home>/config.toml).
    Nothing is recorded or sent until `autotelemetry enable`. For one run
    only, set DO_NOT_TRACK=1 or AUTOTELEMETRY_DISABLED=1 instead.
    """
    path = _set_user_setting("enabled", "false")
    click.echo(f"disabled in {path}")


@cli.command("reset-id")
def reset_id() -> None:
    """Replace your random install id with a new one.

    Rewrites <home>/install_id; events recorded from now on carry the new id
    (events already recorded keep the old one; `purge` deletes them).
    """
    from autotelemetry import recorder

    home = config.ensure_private_dir(config.home_dir())
    try:
        os.unlink(os.path.join(home, "install_id"))
    except FileNotFoundError:
        pass
    recorder._install_id = None
    click.echo(f"new install id: {recorder.install_id(home)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=30),
    default=2.0,
    show_default=True,
    help="Seconds to wait for the endpoint.",
)
def doctor(as_json: bool, timeout: float) -> None:
    """Check the set-up and explain each problem with its fix.

    Checks: the start-up hook is installed and processed by this interpreter
    (starts one `python -c` to see), interpreter flags (-S), kill switches
    and `enabled`, allowlist and config files (bad lines with line numbers,
    permissions, size), the home directory (writable, private; writes and
    deletes one probe file), the clock, the endpoint (one TCP connection,
    timed), sitecustomize, and corrupt spool or store files. Writes nothing
    else. Exits 1 when a check fails.
    """
    from autotelemetry import doctor as doc

    checks = doc.run_checks(timeout=timeout)
    failed = any(c.level == "fail" for c in checks)
    if as_json:
        click.echo(
            json.dumps({"ok": not failed, "checks": [c.as_dict() for c in checks]}, indent=2)
        )
    else:
        for c in checks:
            label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[c.level]
            click.echo(f"{label}  {c.name:<13} {c.detail}")
            if c.fix and c.level != "ok":
                click.echo(f"      {'':<13} fix: {c.fix}")
        click.echo("problems found" if failed else "no problems found")
    if failed:
        sys.exit(1)


@cli.command()
def sitecustomize() -> None:
    """Print the sitecustomize.py that activates autotelemetry without the .pth.

    For interpreters that do not process the .pth file (autotelemetry on
    PYTHONPATH, images, some system Pythons). It chains to any other
    sitecustomize further down sys.path. Reads a file of the package; writes
    only to stdout. Use:

    \b
    autotelemetry sitecustomize > DIR/sitecustomize.py   # DIR on sys.path
    """
    from importlib.resources import files

    packaged = files("autotelemetry").joinpath("_hook").joinpath("sitecustomize.py")
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:  # a source checkout or editable install
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(root, "sitecustomize_template", "sitecustomize.py")) as f:
            text = f.read()
    click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
