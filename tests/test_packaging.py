"""The hook as installed by pip: files, activation, idempotence, uninstall, editable, guards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from time import time_ns

import pytest
from conftest import EXAMPLES, ROOT, SCRIPTS, Venv, build_wheel, clean_env, make_venv

MODULES = "import sys; print('\\n'.join(sorted(sys.modules)))"
#: The boot, shipped at the site-packages root; one module under two names.
BOOT = "_autotelemetry_boot.py"
BOOT_MODULES = {"_autotelemetry_boot", "autotelemetry.hook.boot"}


def _modules(venv: Venv, *args: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [venv.python, *args, "-c", MODULES], capture_output=True, text=True, env=env or clean_env()
    )
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_wheel_ships_pth_and_start(venv: Venv):
    site = venv.site_packages
    pth = (site / "autotelemetry.pth").read_text()
    assert pth == "import _autotelemetry_boot\n"  # no exec, no package import
    assert (site / "autotelemetry.start").read_text().strip() == "_autotelemetry_boot:activate"
    assert list((site / "__pycache__").glob("_autotelemetry_boot.*.pyc"))


def test_wheel_ships_the_built_hot_modules(venv: Venv):
    """Every root module tools/amalgamate.py builds, exactly as built from the sources here."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import amalgamate
    finally:
        sys.path.pop(0)
    site = venv.site_packages
    built = amalgamate.build_all(ROOT)
    assert set(built) == {t.name for t in amalgamate.TARGETS}
    for name, text in built.items():
        path = site / amalgamate.destination(name)
        assert path.read_text(encoding="utf-8") == text
        assert list((path.parent / "__pycache__").glob(f"{name}.*.pyc")), name
    # Only the boot is an entry at the root of site-packages (each costs every process).
    ours = {p.name for p in site.iterdir() if "autotelemetry" in p.name}
    assert ours == {
        "_autotelemetry_boot.py",
        "autotelemetry",
        "autotelemetry.pth",
        "autotelemetry.start",
        next(p.name for p in site.glob("autotelemetry-*.dist-info")),
    }
    from autotelemetry.hook import boot

    assert boot.BUILT.replace(os.sep, "/") == amalgamate.BUILT_DIR
    # The rare paths' table of the hand-over matches the build.
    from autotelemetry.hook import handover

    for module, root in handover.RARE.items():
        assert module in next(t.modules for t in amalgamate.TARGETS if t.name == root)


#: Python 3.13's site.py decodes every .pth file as utf-8-sig first; any .pth costs that codec.
SITE_PTH_CODEC = {"encodings.utf_8_sig"}


def test_boot_adds_exactly_one_module(venv: Venv, bare_venv: Venv):
    """The structural guard on interpreter start: one small root module, not the package."""
    added = _modules(venv) - _modules(bare_venv) - SITE_PTH_CODEC
    assert added == BOOT_MODULES
    # -I still processes .pth files; -S skips them.
    added_isolated = _modules(venv, "-I") - _modules(bare_venv, "-I") - SITE_PTH_CODEC
    assert added_isolated == BOOT_MODULES
    assert not BOOT_MODULES & _modules(venv, "-S")


@pytest.mark.parametrize(
    "first",
    [
        "import _autotelemetry_boot as a, autotelemetry.hook.boot as b",
        "import autotelemetry.hook.boot as b, _autotelemetry_boot as a",
    ],
)
@pytest.mark.parametrize("flags", [[], ["-S"]])
def test_one_boot_module_under_both_names(venv: Venv, first: str, flags: list[str]):
    """No duplicate state, whichever name is imported first (-S: the .pth did not run)."""
    code = f"import sys; sys.path.append({str(venv.site_packages)!r}); " + first
    code += "; import autotelemetry.hook; print(a is b is autotelemetry.hook.boot)"
    out = subprocess.run(
        [venv.python, *flags, "-c", code], capture_output=True, text=True, env=clean_env()
    )
    assert out.stdout.strip() == "True", out.stderr


def test_boot_is_idempotent(venv: Venv):
    code = (
        "import sys, autotelemetry.hook.boot as b; b.activate(); b.activate();"
        "print(sum(getattr(f, '__name__', '') == '_autotelemetry_boot' for f in sys.meta_path))"
    )
    out = subprocess.run([venv.python, "-c", code], capture_output=True, text=True, env=clean_env())
    assert out.stdout.strip() == "1"


#: A finder placed right after the boot that serves a fake ``argparse``: the import during
#: which a bystander's finder retires must still ask it (in-place removal would skip it).
SERVE_FAKE_ARGPARSE = """
import sys
from importlib.machinery import ModuleSpec

class Loader:
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.served = True

class Serve:
    def find_spec(self, name, path=None, target=None):
        return ModuleSpec(name, Loader()) if name == "argparse" else None

boot = sys.modules["_autotelemetry_boot"]
sys.meta_path.insert(sys.meta_path.index(boot) + 1, Serve())
import argparse
import json  # an import after the decision
print(getattr(argparse, "served", False), sum(f is boot for f in sys.meta_path))
"""


def test_bystander_finder_leaves_meta_path_without_skipping_the_next_finder(
    venv: Venv, tmp_path: Path
):
    """After the "not allowlisted" decision the boot is off ``sys.meta_path`` (later
    imports stop paying importlib's per-finder loop), and the import in progress still
    asks the finder after it: the list is rebound, never changed under an iteration."""
    script = tmp_path / "bystander.py"
    script.write_text(SERVE_FAKE_ARGPARSE)
    env = clean_env(AUTOTELEMETRY_HOME=str(tmp_path / "home"))
    out = subprocess.run([venv.python, str(script)], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["True", "0"], out.stderr
    # An allowlisted program keeps watching for the other frameworks.
    env["AUTOTELEMETRY_ALLOW"] = "bystander.py"
    script.write_text(
        "import sys, argparse, json\nboot = sys.modules['_autotelemetry_boot']\n"
        "print(sum(f is boot for f in sys.meta_path))\n"
    )
    out = subprocess.run([venv.python, str(script)], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["1"], out.stderr


@pytest.mark.parametrize("var", ["AUTOTELEMETRY_DISABLED", "DO_NOT_TRACK", "_ARGCOMPLETE"])
def test_disabled_boot_installs_nothing(venv: Venv, var: str):
    code = (
        "import sys;"
        "print(sum(getattr(f, '__name__', '') == '_autotelemetry_boot' for f in sys.meta_path))"
    )
    out = subprocess.run(
        [venv.python, "-c", code], capture_output=True, text=True, env=clean_env(**{var: "1"})
    )
    assert out.stdout.strip() == "0"


def _guard_run(
    venv: Venv, home: Path, framework: str, allow: str, tmp_path: Path, **extra: str
) -> set[str]:
    out_file = tmp_path / f"modules-{framework}-{allow or 'none'}.txt"
    env = clean_env(AUTOTELEMETRY_HOME=str(home), AUTOTELEMETRY_ALLOW=allow, **extra)
    proc = subprocess.run(
        [venv.python, str(SCRIPTS / "modules_at_exit.py"), framework, str(out_file)],
        capture_output=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return set(out_file.read_text().split())


#: What deciding who runs adds to any program that imports a framework: one small built
#: module, under its own name and its sources' names (never the ``autotelemetry`` package).
DECISION = {
    "_autotelemetry_handover",
    "autotelemetry.hook.env",
    "autotelemetry.hook.handover",
    "autotelemetry.hook.identity",
}
#: The allowlist reader, loaded only when an allowlist source names the program.
READER = {
    "_autotelemetry_allowlist",
    "autotelemetry.hook.allowlist",
    "autotelemetry.hook.fs",
    "autotelemetry.hook.namespace",
}
#: The recording modules, built into one root module per framework.
RECORDING = {
    "autotelemetry.hook.config",
    "autotelemetry.hook.event",
    "autotelemetry.hook.instrument",
    "autotelemetry.hook.recorder",
    "autotelemetry.hook.spool",
}
#: The option table: never in a host process (the built modules hold the columns they
#: need of it: tools/amalgamate.py, FOLDED).
OPTION_TABLE = {"_autotelemetry_options", "autotelemetry.hook.options"}
#: The parser of option values: only when a setting's variable is set, a config file
#: exists or an environment-only option is read (the endpoint path's intervals).
VALUES = {"_autotelemetry_values", "autotelemetry.hook.values"}
#: What an instrumented run may add to the host's modules, beyond what it loads itself.
ALLOWED_IN_HOST = {
    *BOOT_MODULES,
    *DECISION,
    *READER,
    *RECORDING,
    "_autotelemetry_click",
    "autotelemetry.hook.integrations.click",
    "_autotelemetry_argparse",
    "autotelemetry.hook.integrations.argparse",
    # A writer's turn at the spool's caps (one run in 64, at random: spool.AMORTISE_EVERY).
    "_autotelemetry_eviction",
    "autotelemetry.hook.eviction",
    "atexit",  # Python 3.9 only (recorder.register_at_exit)
    "fnmatch",
    *SITE_PTH_CODEC,
}
#: Never in a host process because of us.
FORBIDDEN = {
    "json",
    "requests",
    "sqlite3",
    "_sqlite3",
    "uuid",
    "subprocess",
    "importlib.metadata",
    "typing",
    "wrapt",
    "tomllib",
    "platform",
    "socket",
    # the OpenTelemetry side lives in the sender only
    "google",
    "google.protobuf",
    "opentelemetry",
    "opentelemetry.proto",
    "autotelemetry.otel",
    "autotelemetry.exporters",
    "autotelemetry.exporters.otlp",
    "autotelemetry.sender",
    "autotelemetry.hook.configfile",
    "base64",
    "binascii",
    "gzip",
    "urllib",
    "urllib.parse",
}


#: Only with an endpoint configured: the notice and the sender spawner (``os``/``sys``;
#: ``fcntl`` for the sender claim's ``flock``, taken only when a spawn is due).
#: ``autotelemetry.hook.configfile`` (the config-file reader) is in neither set: these runs have
#: no config file, and an endpoint from the environment must not pull it in.
ALLOWED_WITH_ENDPOINT = {
    "_autotelemetry_endpoint",
    "autotelemetry.hook.notice",
    "autotelemetry.hook.spawn",
    "fcntl",
}
#: Only in the run whose exit claims a sender's start (the first one in a fresh home):
#: the launch (the sender's command line, environment and descriptors).
ALLOWED_WITH_LAUNCH = {"_autotelemetry_launch", "autotelemetry.hook.launch"}


#: Only with an inherited trace context (TRACEPARENT, or an instrumented parent CLI).
ALLOWED_WITH_TRACE_CONTEXT = {"_autotelemetry_tracecontext", "autotelemetry.hook.tracecontext"}
#: An incoming W3C trace context, as a CI system sets it.
TRACE_CONTEXT = {
    "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "TRACESTATE": "congo=t61rcWkgMzE",
}


@pytest.mark.parametrize("framework", ["click", "typer", "argparse"])
@pytest.mark.parametrize("allow", ["", "modules_at_exit"])
@pytest.mark.parametrize("endpoint", ["local", "endpoint", "otel"])
def test_host_process_imports_only_the_allowed_modules(
    venv: Venv,
    bare_venv: Venv,
    home: Path,
    tmp_path: Path,
    framework: str,
    allow: str,
    endpoint: str,
):
    """Structural guard for the recording path (allowlisted) and the bystander path (not),
    in local mode, with an endpoint configured (a closed local port: the detached
    sender gets "connection refused"; the host never talks to it), and with
    OpenTelemetry's variables (endpoint, headers, resource) and an incoming trace
    context: the OTEL_* consent check and the trace context cost no import."""
    extra = {}
    if endpoint == "endpoint":
        extra = {
            "AUTOTELEMETRY_ENDPOINT": "http://127.0.0.1:9",
            "AUTOTELEMETRY_TIMEOUT": "1",
            "AUTOTELEMETRY_SEND_BUDGET": "2",
            "AUTOTELEMETRY_RETRY_BASE": "60",  # the failed send's retry keeps the window open
        }
    elif endpoint == "otel":
        extra = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
            "OTEL_EXPORTER_OTLP_HEADERS": "a=b",
            "OTEL_RESOURCE_ATTRIBUTES": "team=x",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1000",
            "AUTOTELEMETRY_SEND_BUDGET": "2",
            "AUTOTELEMETRY_RETRY_BASE": "60",
            "AUTOTELEMETRY_EXPORT_TRACEPARENT": "1",
            **TRACE_CONTEXT,
        }
    hooked = _guard_run(venv, home, framework, allow, tmp_path, **extra)
    bare = _guard_run(bare_venv, home, framework, "", tmp_path)
    added = hooked - bare
    sending = endpoint != "local"
    allowed = ALLOWED_IN_HOST
    if sending:
        allowed = allowed | ALLOWED_WITH_ENDPOINT | ALLOWED_WITH_LAUNCH | VALUES
    if endpoint == "otel" and allow:
        allowed |= ALLOWED_WITH_TRACE_CONTEXT
    assert added <= allowed, added - allowed
    assert not (added & FORBIDDEN)
    assert not (added & OPTION_TABLE)
    if framework == "argparse":
        assert "click" not in hooked
    if allow:
        # Spool and store together (a detached sender may have ingested the spool already).
        listed = subprocess.run(
            [venv.script("autotelemetry"), "events", "--json"],
            capture_output=True,
            text=True,
            env=clean_env(AUTOTELEMETRY_HOME=str(home)),
        )
        recorded = [
            e for e in map(json.loads, listed.stdout.splitlines()) if e["type"] == "command"
        ]
        assert [e["cli"]["name"] for e in recorded] == ["modules_at_exit.py"], listed.stderr
        if sending:
            # (hooked, not added: Typer's own imports already bring fcntl to a bare run)
            assert hooked >= ALLOWED_WITH_ENDPOINT | ALLOWED_WITH_LAUNCH  # it started one
            # The next run, inside the sender's spawn window, decides on the stamp alone:
            # no claim (no fcntl of ours), no launch.
            again = _guard_run(venv, home, framework, allow, tmp_path, **extra)
            assert again >= ALLOWED_WITH_ENDPOINT - {"fcntl"}
            assert not again & ALLOWED_WITH_LAUNCH
            if framework != "typer":  # (Typer's own imports bring fcntl)
                assert "fcntl" not in again
        if endpoint == "otel":  # and the trace context it inherited was recorded
            assert added >= ALLOWED_WITH_TRACE_CONTEXT
            (event,) = recorded
            assert event["trace"]["trace_id"] == TRACE_CONTEXT["TRACEPARENT"][3:35]
            assert event["trace"]["state"] == TRACE_CONTEXT["TRACESTATE"]
    if not allow:
        assert added == {*BOOT_MODULES, *DECISION} | (added & SITE_PTH_CODEC)
    else:
        built = "_autotelemetry_argparse" if framework == "argparse" else "_autotelemetry_click"
        assert {*BOOT_MODULES, *DECISION, *READER, *RECORDING, built} <= added
        if not sending:  # no variable sets anything: the defaults, without the parser
            assert not added & VALUES
        else:  # the endpoint's variable, parsed without the table
            assert added >= VALUES
    # Never the package: the built modules are all a host loads (importing the
    # autotelemetry package would cost every run two more imports).
    assert not {"autotelemetry", "autotelemetry.hook"} & added


#: An argparse program that ends without sys.exit (only the exit hook records it) and,
#: as its last line, says whether ``atexit`` is among its modules.
_ATEXIT_PROBE = """\
import argparse, sys
argparse.ArgumentParser().parse_args()
print("atexit" in sys.modules)
"""


WRITERS_TURN = """
import json, os, sys
boot = sys.modules["_autotelemetry_boot"]
for name in ("_autotelemetry_handover", "_autotelemetry_allowlist", "_autotelemetry_click",
             "_autotelemetry_eviction"):
    boot.load(name)
eviction = sys.modules["autotelemetry.hook.eviction"]
home = sys.argv[1]
eviction.check(home)  # what a writer does on its turn; no stamp yet, so the check is due
print(json.dumps({
    "limits": eviction.limits(),
    "left": sorted(os.listdir(os.path.join(home, "spool"))),
    "parser": "_autotelemetry_values" in sys.modules,
    "table": "_autotelemetry_options" in sys.modules,
    "built": eviction.__file__.endswith("_autotelemetry_eviction.py"),
}))
"""


@pytest.mark.parametrize("max_files", [None, "2"])
def test_a_writers_turn_reads_the_spool_caps_without_the_option_table(
    venv: Venv, tmp_path: Path, max_files: str | None
):
    """A writer whose turn it is to enforce the spool's caps takes the caps' defaults from
    the built eviction module (folded from the option table at build time) and loads the
    parser of option values only when a cap's variable is set, the table never; either way
    the caps are the table's."""
    from autotelemetry.hook import options

    home = tmp_path / "home"
    spool = home / "spool"
    spool.mkdir(mode=0o700, parents=True)
    names = [f"{n:020d}-1-0000000{n}.jsonl" for n in (time_ns() - 3, time_ns() - 2, time_ns() - 1)]
    for name in names:
        (spool / name).write_text('{"type": "command"}\n')
    extra = {} if max_files is None else {"AUTOTELEMETRY_SPOOL_MAX_FILES": max_files}
    out = subprocess.run(
        [venv.python, "-c", WRITERS_TURN, str(home)],
        capture_output=True,
        text=True,
        env=clean_env(AUTOTELEMETRY_HOME=str(home), **extra),
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    rows = options.BY_NAME
    expected = [
        rows["spool_max_bytes"][options.DEFAULT],
        int(max_files) if max_files else rows["spool_max_files"][options.DEFAULT],
        rows["spool_max_age"][options.DEFAULT],
    ]
    assert seen["built"] is True
    assert seen["limits"] == expected
    assert seen["parser"] is (max_files is not None)
    assert seen["table"] is False
    # The check ran: with a cap of two files the oldest one went (and the stamp is set).
    assert seen["left"] == (names[1:] if max_files else names)
    assert (home / "spool.limits").is_file()


def test_exit_hook_leaves_atexit_out_of_the_host_modules(
    venv: Venv, bare_venv: Venv, tmp_path: Path, python_version: tuple[int, int]
):
    """Since 3.10 the exit hook registers through an atexit module object of its own
    (recorder.register_at_exit): a host that never imports atexit still has none in
    sys.modules, as without us, and its run is recorded at exit. 3.9 imports it."""
    script = tmp_path / "probe.py"
    script.write_text(_ATEXIT_PROBE)
    home = tmp_path / "home"
    env = clean_env(AUTOTELEMETRY_HOME=str(home), AUTOTELEMETRY_ALLOW="probe.py")
    bare = subprocess.run([bare_venv.python, str(script)], capture_output=True, text=True, env=env)
    hooked = subprocess.run([venv.python, str(script)], capture_output=True, text=True, env=env)
    assert bare.stdout == "False\n", bare.stderr
    assert hooked.stdout == ("False\n" if python_version >= (3, 10) else "True\n"), hooked.stderr
    spooled = [json.loads(line) for f in (home / "spool").glob("*.jsonl") for line in f.open()]
    assert [(e["cli"]["name"], e["status"]) for e in spooled] == [("probe.py", "success")]


#: A host program that starts instrumented (``{start}``: Click's import, or argparse's
#: first parse), loads every rare path's module as a real run would, through the
#: hand-over's table, and prints where each came from; then takes a writer's turn at the
#: spool's caps (as one run in 64 does at exit).
_RARE_PROBE = """\
import sys, time
{start}
handover = sys.modules["autotelemetry.hook.handover"]
for name in sorted(handover.RARE):
    print(name, handover.lazy(name).__file__)
spool, fs = sys.modules["autotelemetry.hook.spool"], sys.modules["autotelemetry.hook.fs"]
directory = fs.private_dir(spool.spool_dir(sys.argv[1]))
for i in range(5):  # rewrite: the writer's own random turn at the caps must not come first
    spool.rewrite(directory + "/%020d-1-%08x.jsonl" % (time.time_ns() + i, i), ["{{}}"])
handover.lazy("eviction").check(sys.argv[1])
"""
_STARTS = {
    "click": "import click",
    "argparse": "import argparse; argparse.ArgumentParser().parse_args([])",
}


@pytest.mark.parametrize("framework", ["click", "argparse"])
def test_rare_paths_load_from_the_built_modules_in_a_host(
    venv: Venv, tmp_path: Path, framework: str
):
    """Every module of ``handover.RARE`` loads from its built module (never the sources) in an
    instrumented host, whichever framework's recording module bound its siblings; the spool
    caps' module, loaded only on a writer's turn, enforces them."""
    script = tmp_path / "rare_probe.py"
    script.write_text(_RARE_PROBE.format(start=_STARTS[framework]))
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = clean_env(
        AUTOTELEMETRY_HOME=str(home),
        AUTOTELEMETRY_ALLOW="rare_probe.py",
        AUTOTELEMETRY_SPOOL_MAX_FILES="2",
    )
    out = subprocess.run(
        [venv.python, str(script), str(home)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    from autotelemetry.hook import handover

    built = venv.site_packages / "autotelemetry" / "built"
    assert out.stdout.splitlines() == [
        f"{name} {built / (handover.RARE[name] + '.py')}" for name in sorted(handover.RARE)
    ]
    # 5 files written, a cap of 2: 3 evicted and counted (the exit's own file comes after).
    marks = [int(p.name.rsplit("-", 1)[1]) for p in (home / "evictions").iterdir()]
    assert sum(marks) == 3


def _spooled_commands(home: Path) -> list[tuple[str, str]]:
    events = [json.loads(line) for f in (home / "spool").glob("*.jsonl") for line in f.open()]
    for f in (home / "spool").glob("*.jsonl"):
        f.unlink()
    return [(e["command"], e["status"]) for e in events if e["type"] == "command"]


@pytest.mark.slow
def test_built_modules_heal_missing_or_stale_byte_code(venv_root: Path, tmp_path: Path):
    """An installer that does not byte-compile (uv's default), a built module newer than its
    byte-code, ``-O``: the built modules still load (never the per-concern sources), through
    importlib's source loader, which writes the byte-code that later runs use; with
    ``PYTHONDONTWRITEBYTECODE`` nothing is written and the run is still recorded."""
    plain = make_venv(
        venv_root,
        "no-byte-code",
        ["--no-compile", str(build_wheel(ROOT)), str(build_wheel(EXAMPLES / "exampleclick"))],
    )
    built = plain.site_packages / "autotelemetry" / "built"
    cache = built / "__pycache__"
    sources_cache = plain.site_packages / "autotelemetry" / "hook" / "__pycache__"
    for pyc in [*cache.glob("*.pyc"), *sources_cache.glob("*.pyc")]:
        pyc.unlink()  # the session's venv may have run before
    home = tmp_path / "home"
    env = clean_env(AUTOTELEMETRY_HOME=str(home), AUTOTELEMETRY_ALLOW="exampleclick")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    run = [plain.script("exampleclick"), "db", "migrate", "--dry-run", "prod"]

    def recorded(extra: dict[str, str]) -> list[tuple[str, str]]:
        out = subprocess.run(run, env={**env, **extra}, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return _spooled_commands(home)

    # No byte-code, and not allowed to write it: recorded all the same.
    assert recorded({"PYTHONDONTWRITEBYTECODE": "1"}) == [("exampleclick db migrate", "success")]
    assert not list(cache.glob("*.pyc"))
    # No byte-code: recorded, and the built modules' byte-code written for the next run.
    assert recorded({}) == [("exampleclick db migrate", "success")]
    written = {p.name.split(".")[0] for p in cache.glob("*.pyc")}
    # A writer's turn at the spool caps (one run in 64, at random) loads the eviction module
    # too: the run loaded it, so its byte-code is written as well (seen once in CI).
    written.discard("_autotelemetry_eviction")
    assert written == {f"_autotelemetry_{m}" for m in ("handover", "allowlist", "click")}
    # A built module newer than its byte-code: compiled again, the new byte-code kept.
    click = built / "_autotelemetry_click.py"
    mtime = int(click.stat().st_mtime) + 7
    os.utime(click, (mtime, mtime))
    assert recorded({}) == [("exampleclick db migrate", "success")]
    (pyc,) = cache.glob("_autotelemetry_click.*.pyc")
    assert pyc.read_bytes()[8:12] == (mtime & 0xFFFFFFFF).to_bytes(4, "little")
    # -O: its own byte-code file, written the same way.
    assert recorded({"PYTHONOPTIMIZE": "1"}) == [("exampleclick db migrate", "success")]
    assert list(cache.glob("_autotelemetry_click.*.opt-1.pyc"))
    # Never the per-concern sources (they would have written their byte-code too).
    assert not list(sources_cache.glob("*.pyc"))


_LOAD_PROBE = """\
import sys
boot = sys.modules["_autotelemetry_boot"]
print(boot.load("_autotelemetry_probe_broken"), "_autotelemetry_probe_broken" in sys.modules)
try:
    boot.load("_autotelemetry_probe_interrupted")
except KeyboardInterrupt:
    print("interrupted", "_autotelemetry_probe_interrupted" in sys.modules)
"""


@pytest.mark.slow
def test_a_built_module_that_fails_is_dropped_but_an_interrupt_is_the_hosts(
    venv_root: Path, tmp_path: Path
):
    """``boot.load`` turns a built module's own error into "none" (the host never notices),
    but a Ctrl-C that lands while it runs reaches the host as it would without us; either
    way nothing half-executed stays in ``sys.modules``. (Two probe modules planted beside
    the built ones, removed after.)"""
    plain = make_venv(
        venv_root,
        "no-byte-code",
        ["--no-compile", str(build_wheel(ROOT)), str(build_wheel(EXAMPLES / "exampleclick"))],
    )
    built = plain.site_packages / "autotelemetry" / "built"
    probes = {
        built / "_autotelemetry_probe_broken.py": "raise ValueError('ours')\n",
        built / "_autotelemetry_probe_interrupted.py": "raise KeyboardInterrupt\n",
    }
    try:
        for path, text in probes.items():
            path.write_text(text)
        out = subprocess.run(
            [plain.python, "-c", _LOAD_PROBE],
            capture_output=True,
            text=True,
            env=clean_env(AUTOTELEMETRY_HOME=str(tmp_path / "home")),
        )
    finally:
        for path in probes:
            path.unlink()
    assert out.returncode == 0, out.stderr
    assert out.stdout == "None False\ninterrupted False\n"


@pytest.mark.slow
def test_uninstall_removes_hook_files(venv_root: Path):
    throwaway = make_venv(venv_root, "uninstall", [str(build_wheel(ROOT))])
    site = throwaway.site_packages
    assert (site / "autotelemetry.pth").exists()
    subprocess.run(
        [throwaway.python, "-m", "pip", "uninstall", "-y", "-q", "autotelemetry"],
        check=True,
        env=clean_env(),
    )
    assert not (site / "autotelemetry.pth").exists()
    assert not (site / "autotelemetry.start").exists()
    assert "autotelemetry" not in _modules(throwaway)


@pytest.mark.slow
def test_editable_install_activates(venv_root: Path, tmp_path: Path):
    editable = make_venv(
        venv_root,
        "editable",
        ["-e", str(ROOT), str(build_wheel(ROOT.joinpath("examples", "exampleclick")))],
    )
    site = editable.site_packages
    assert (site / "autotelemetry.pth").exists()
    home = tmp_path / "home"
    env = clean_env(AUTOTELEMETRY_HOME=str(home), AUTOTELEMETRY_ALLOW="exampleclick")
    out = subprocess.run(
        [editable.script("exampleclick"), "db", "status"], env=env, capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert list((home / "spool").glob("*.jsonl"))
