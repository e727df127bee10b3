"""The hot path as shipped: built modules that behave as the sources, and leave nothing behind.

The wheel ships the host side built into a few modules (tools/amalgamate.py);
an editable install runs the sources. Both must record the same events. And once
a run is recorded, nothing of ours may keep the host's objects alive into
interpreter shutdown (structural guards: never timing assertions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, Venv, build_wheel, clean_env, make_venv
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(ROOT / "tools"))
import amalgamate

sys.path.pop(0)

#: Invocations that cover each integration's paths: success, usage error, failure,
#: crash, aliases and flags, subcommands.
RUNS = [
    ("exampleclick", ["--verbose", "db", "migrate", "--dry-run", "prod"]),
    ("exampleclick", ["db", "m", "--to", "42", "staging"]),
    ("exampleclick", ["db", "nosuch"]),
    ("exampleclick", ["fail"]),
    ("exampleclick", ["crash", "x"]),
    ("exampletyper", ["users", "create", "bob", "--admin"]),
    ("exampleargparse", ["db", "migrate", "--dry-run", "prod"]),
    ("exampleargparse", ["db", "nosuch"]),
    ("exampleargparse", ["crash"]),
]
#: Fields that differ between any two runs (ids, times) or by where the venv lives.
VOLATILE = ("event_id", "timestamp", "session_id", "install_id", "duration_ms", "pid")


def _normalised(events: list[dict]) -> list[dict]:
    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k not in VOLATILE}
        trace = event.get("trace")
        if isinstance(trace, dict):  # random ids: their presence and the flags must agree
            event["trace"] = (sorted(trace), trace.get("flags"))
        exc = event.get("exception")
        if isinstance(exc, dict):
            for frame in exc.get("frames") or ():
                frame.pop("file", None)  # relative to each venv's own site-packages
        out.append(event)
    return out


def _record(venv: Venv, home: Path) -> list[dict]:
    home.mkdir(mode=0o700)
    env = clean_env(
        AUTOTELEMETRY_HOME=str(home),
        AUTOTELEMETRY_ALLOW="exampleclick,exampletyper,exampleargparse",
    )
    events = []
    for program, argv in RUNS:
        subprocess.run([venv.script(program), *argv], env=env, capture_output=True, timeout=120)
        spool = sorted((home / "spool").glob("*.jsonl"))
        for path in spool:
            events += [json.loads(line) for line in path.read_text().splitlines() if line]
            path.unlink()
    return events


@pytest.mark.slow
def test_built_modules_record_what_the_sources_record(venv: Venv, venv_root: Path, tmp_path: Path):
    editable = make_venv(
        venv_root,
        "editable-examples",
        [
            "-e",
            str(ROOT),
            *(str(build_wheel(EXAMPLES / name)) for name in ("exampleclick", "exampletyper")),
            str(build_wheel(EXAMPLES / "exampleargparse")),
        ],
    )
    built_click = "autotelemetry/built/_autotelemetry_click.py"
    assert not (editable.site_packages / built_click).exists()  # the sources
    assert (venv.site_packages / built_click).exists()  # the built modules
    built = _record(venv, tmp_path / "built")
    sources = _record(editable, tmp_path / "sources")
    assert len(built) == len(RUNS) + 2  # every run, plus the two crashes' crash events
    assert _normalised(built) == _normalised(sources)


SHUTDOWN = r"""
import atexit, gc, sys, weakref

refs = []

def after_ours():
    # Registered first, so it runs after autotelemetry's exit handler (atexit is LIFO).
    gc.collect()
    boot = sys.modules["autotelemetry.hook.boot"]
    recorder = sys.modules.get("autotelemetry.hook.recorder")
    print(json.dumps({
        "exit_restored": sys.exit is ORIGINAL_EXIT,
        "excepthook_restored": threading.excepthook is ORIGINAL_HOOK,
        "invocation_dropped": recorder is not None and recorder.RECORDER.invocation is None,
        "contexts_alive": sum(ref() is not None for ref in refs),
    }))

import json, threading
ORIGINAL_EXIT, ORIGINAL_HOOK = sys.exit, threading.excepthook
atexit.register(after_ours)

import click

@click.group()
def main():
    refs.append(weakref.ref(click.get_current_context()))

@main.command()
@click.option("--flag", is_flag=True)
def go(flag):
    refs.append(weakref.ref(click.get_current_context()))

main(sys.argv[1:])
"""


@pytest.mark.parametrize("exit_by", ["return", "sys.exit"])
def test_nothing_of_ours_holds_the_host_at_shutdown(venv: Venv, tmp_path: Path, exit_by: str):
    """sys.exit and threading.excepthook are given back, the invocation (with the
    framework's contexts) is dropped: the host's objects die as they would without us."""
    script = tmp_path / "shutdown_probe.py"
    code = SHUTDOWN
    if exit_by == "return":
        code = code.replace("main(sys.argv[1:])", "main(sys.argv[1:], standalone_mode=False)")
    script.write_text(code)
    home = tmp_path / "home"
    env = clean_env(AUTOTELEMETRY_HOME=str(home), AUTOTELEMETRY_ALLOW="shutdown_probe.py")
    out = subprocess.run(
        [venv.python, str(script), "go", "--flag"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout.splitlines()[-1])
    assert facts == {
        "exit_restored": True,
        "excepthook_restored": True,
        "invocation_dropped": True,
        "contexts_alive": 0,
    }
    assert list((home / "spool").glob("*.jsonl"))  # and the run was recorded


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"DO_NOT_TRACK": "1"},
        {"DO_NOT_TRACK": "0"},
        {"DO_NOT_TRACK": ""},
        {"DO_NOT_TRACK": " Off "},
        {"AUTOTELEMETRY_DISABLED": "yes"},
        {"AUTOTELEMETRY_DISABLED": "false"},
        {"_ARGCOMPLETE": "1"},
        {"COMP_LINE": "x", "COMP_POINT": "1"},
        {"COMP_LINE": "x"},
        {"_MYCLI_COMPLETE": "bash_complete"},
        {"MYCLI_COMPLETE": "x"},
        {"_X_COMPLETE_NOT": "1"},
    ],
    ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "none",
)
def test_boot_fast_check_agrees_with_disabled_reason(venv: Venv, environ: dict[str, str]):
    """The boot decides on the raw bytes at start; values.disabled_reason says why later.
    Where there is no bytes dictionary (``os.name`` other than posix: simulated here), the
    boot asks the parser itself, from its built module: no package import, no table."""
    sys.path.insert(0, str(ROOT))
    from autotelemetry.hook import values

    expected_active = values.disabled_reason(environ) is None
    code = "import sys; print(sys.modules['autotelemetry.hook.boot'].state['active'])"
    out = subprocess.run(
        [venv.python, "-c", code], env=clean_env(**environ), capture_output=True, text=True
    )
    assert out.stdout.strip() == str(expected_active), out.stderr
    # -S: no .pth runs; the probe imports the boot itself, as the .pth line does.
    site = str(venv.site_packages)
    out = subprocess.run(
        [venv.python, "-S", "-c", _ELSEWHERE_BOOT, site],
        env=clean_env(**environ),
        capture_output=True,
        text=True,
    )
    active, added, parser = out.stdout.splitlines()
    assert active == str(expected_active), out.stderr
    assert parser == os.path.join(site, "autotelemetry", "built", "_autotelemetry_values.py")
    assert set(added.split()) - {"time"} == {
        "_autotelemetry_boot",
        "autotelemetry.hook.boot",
        "_autotelemetry_values",
        "autotelemetry.hook.values",
        "_autotelemetry_handover",
        "autotelemetry.hook.env",
        "autotelemetry.hook.handover",
        "autotelemetry.hook.identity",
    }


#: The boot's start-up as on a system without ``os.environ``'s bytes dictionary.
_ELSEWHERE_BOOT = """
import os, sys
sys.path.append(sys.argv[1])
before = set(sys.modules)
os.name = "nt"
try:
    import _autotelemetry_boot as boot
finally:
    os.name = "posix"
print(boot.state["active"])
print(" ".join(sorted(set(sys.modules) - before)))
print(sys.modules["autotelemetry.hook.values"].__file__)
"""


def test_build_refuses_two_modules_defining_one_name(tmp_path: Path):
    hook = tmp_path / "autotelemetry" / "hook"
    hook.mkdir(parents=True)
    (hook / "a.py").write_text("def helper():\n    return 1\n")
    (hook / "b.py").write_text(
        "from autotelemetry.hook import a\n\n\ndef helper():\n    return 2\n"
    )
    with pytest.raises(amalgamate.BuildError, match="both define 'helper'"):
        amalgamate.build(tmp_path, amalgamate.Target("_x", ("a", "b")), {})
    (hook / "b.py").write_text("def a():\n    return 2\n")
    with pytest.raises(amalgamate.BuildError, match="the name of a sibling module"):
        amalgamate.build(tmp_path, amalgamate.Target("_x", ("a", "b")), {})


def test_built_module_binds_siblings_to_itself(tmp_path: Path):
    hook = tmp_path / "autotelemetry" / "hook"
    hook.mkdir(parents=True)
    (hook / "a.py").write_text('"""Doc."""\n\n\ndef one():\n    """Doc."""\n    return 1\n')
    (hook / "b.py").write_text(
        "from autotelemetry.hook import a\n\n__all__ = ['two']\n\n\n"
        "def two():\n    return a.one() + 1\n"
    )
    text = amalgamate.build(tmp_path, amalgamate.Target("_x_built", ("a", "b")), {})
    assert '"""Doc."""' not in text and "__all__" not in text
    module = type(sys)("_x_built")
    sys.modules["_x_built"] = module
    try:
        exec(compile(text, "_x_built", "exec"), module.__dict__)
        assert module.two() == 2  # type: ignore[attr-defined]
        assert sys.modules["autotelemetry.hook.a"] is module
    finally:
        for name in ("_x_built", "autotelemetry.hook.a", "autotelemetry.hook.b"):
            sys.modules.pop(name, None)


def _package(root: Path, config: str) -> None:
    """A package ``autotelemetry.hook`` under ``root`` whose ``config`` module is ``config``."""
    hook = root / "autotelemetry" / "hook"
    hook.mkdir(parents=True, exist_ok=True)
    (root / "autotelemetry" / "__init__.py").write_text("")
    (hook / "__init__.py").write_text("")
    (hook / "config.py").write_text(config)


def test_build_folds_derived_names_into_literals(tmp_path: Path):
    """The built module holds what the source computes (``FOLDED``), not the computation,
    and the build leaves the process's own copy of the package untouched."""
    _package(
        tmp_path,
        "import os\n\n"
        "DEFAULTS, SETTING_VARIABLES, PER_CLI_KEYS = (\n"
        "    {'a': os.sep == '/'}, (('a', 'X_A'),), tuple(['a'])\n)\n"
        "SETTING_KEYS = tuple(v.encode() for _, v in SETTING_VARIABLES)\n\n\n"
        "def get():\n    return DEFAULTS['a']\n",
    )
    before = sys.modules.get("autotelemetry.hook.config")
    text = amalgamate.build(tmp_path, amalgamate.Target("_x_folded", ("config",)), {})
    assert sys.modules.get("autotelemetry.hook.config") is before
    assert "os.sep ==" not in text and "tuple([" not in text
    assert f"DEFAULTS = {{'a': {os.sep == '/'}}}\n" in text
    assert "PER_CLI_KEYS = ('a',)\n" in text
    assert "SETTING_VARIABLES = (('a', 'X_A'),)\n" in text
    assert "SETTING_KEYS = (b'X_A',)\n" in text and ".encode()" not in text
    namespace: dict[str, object] = {"__name__": "_x_folded"}
    sys.modules["_x_folded"] = type(sys)("_x_folded")
    try:
        exec(compile(text, "_x_folded", "exec"), namespace)
    finally:  # the built module registers itself under its source's name where free
        del sys.modules["_x_folded"]
        if before is None:
            sys.modules.pop("autotelemetry.hook.config", None)
    assert namespace["get"]() is (os.sep == "/")  # type: ignore[operator]


@pytest.mark.parametrize(
    "config, why",
    [
        (
            "DEFAULTS = {'a': object()}\nSETTING_VARIABLES = PER_CLI_KEYS = SETTING_KEYS = ()\n",
            "not a literal",
        ),
        (
            "DEFAULTS, OTHER = {}, 1\nSETTING_VARIABLES = PER_CLI_KEYS = SETTING_KEYS = ()\n",
            "other names",
        ),
        ("DEFAULTS = {}\nSETTING_VARIABLES = SETTING_KEYS = ()\n", "bound by no top-level"),
    ],
)
def test_build_refuses_what_it_cannot_fold(tmp_path: Path, config: str, why: str):
    _package(tmp_path, config)
    with pytest.raises(amalgamate.BuildError, match=why):
        amalgamate.build(tmp_path, amalgamate.Target("_x_folded", ("config",)), {})


def test_hot_modules_hold_the_option_tables_columns_not_the_table():
    """What the wheel's framework modules fold is what the table says (the build reads
    the sources), and none of them holds the table itself."""
    sys.path.insert(0, str(ROOT))
    from autotelemetry.hook import config, event, options

    built = amalgamate.build_all(ROOT)
    for name in ("_autotelemetry_click", "_autotelemetry_argparse"):
        text = built[name]
        assert "OPTIONS = (" not in text and "setting_columns()" not in text
        assert f"DEFAULTS = {config.DEFAULTS!r}\n" in text
        assert f"SETTING_VARIABLES = {config.SETTING_VARIABLES!r}\n" in text
        assert f"SETTING_KEYS = {config.SETTING_KEYS!r}\n" in text
        assert f"CI_KEYS = {event.CI_KEYS!r}\n" in text
    columns = (config.DEFAULTS, config.SETTING_VARIABLES, config.PER_CLI_KEYS)
    assert options.setting_columns() == columns
    assert "OPTIONS = (" in built["_autotelemetry_options"]
    # The spool caps' module (a writer's turn) holds its three rows, not the table's call.
    caps = options.env_columns("spool_max_bytes", "spool_max_files", "spool_max_age")
    assert f"CAPS = {caps!r}\n" in built["_autotelemetry_eviction"]
    assert "env_columns(" not in built["_autotelemetry_eviction"]
    # The parser of option values holds the table's rows without their documentation.
    rows, kinds, switches, otel = options.parsing_columns()
    text = built["_autotelemetry_values"]
    assert f"ROWS = {rows!r}\n" in text and f"KINDS = {kinds!r}\n" in text
    assert f"KILL_SWITCHES = {switches!r}\n" in text and f"OTEL_ENDPOINTS = {otel!r}\n" in text
    assert "parsing_columns(" not in text and "OPTIONS = (" not in text
    for name, row in options.BY_NAME.items():
        fields = (options.VARIABLE, options.KIND, options.DEFAULT, options.FILE, options.CHOICES)
        assert rows[name] == tuple(row[i] for i in fields)
        assert row[options.DOC] not in text


# --- the event's JSON writer ------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities too: written as null
    # every code point, lone surrogates included (surrogate-escaped argv bytes), and
    # the ones a writer gets wrong most often, often
    | st.text(
        st.sampled_from(
            ["a", '"', "\\", "\n", "\x00", "\x7f", "\u00e9", "\u2028", "\ud800", "\udcff"]
        )
        | st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
    )
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["cli", 'a"b', "\\", "\x00"]), inner
        )
    ),
    max_leaves=20,
)


def _as_json(value: object) -> object:
    """What ``value`` is once written as JSON and read back."""
    if isinstance(value, float) and (value != value or value - value != 0.0):
        return None
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(value=_VALUES)
def test_event_writer_round_trips_through_json(value: object):
    """event.dumps (the host's own writer: no ``json`` import) writes what ``json`` reads
    back as the same value, as valid UTF-8 once the spool encodes it (lone surrogates
    escaped), for every shape an event can hold."""
    from autotelemetry.hook import event

    text = event.dumps(value)
    assert json.loads(text) == _as_json(value)
    data = text.encode("utf-8", "surrogatepass")
    assert json.loads(data.decode("utf-8")) == _as_json(value)  # strict UTF-8: no surrogate


def test_event_writer_writes_subclasses_as_their_base_values():
    """An IntEnum, a str subclass with its own __str__, a dict or list subclass: their values."""
    import enum
    from collections import OrderedDict

    from autotelemetry.hook import event

    class Level(enum.IntEnum):
        HIGH = 3

    class Shown(str):
        def __str__(self) -> str:
            return "something else"

    class Items(list):  # type: ignore[type-arg]
        pass

    class Pairs(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def,override]
            return [("x", 1)]

    class Proxy:
        """What wrapt's ObjectProxy or werkzeug's LocalProxy does: claims to be a str."""

        def __init__(self, wrapped: str) -> None:
            self._wrapped = wrapped

        @property  # type: ignore[misc]
        def __class__(self):  # type: ignore[no-untyped-def,override]
            return str

        def __str__(self) -> str:
            return self._wrapped

    value = {"level": Level.HIGH, "name": Shown("db"), "more": OrderedDict(a=Items([1.5, True]))}
    assert event.dumps(value) == '{"level":3,"name":"db","more":{"a":[1.5,true]}}'
    version = Proxy("1.2.3")  # a CLI's lazy __version__ may be one
    assert isinstance(version, str)
    assert event.dumps({"version": version, "p": Pairs(a=2)}) == '{"version":"1.2.3","p":{"x":1}}'


def test_event_writer_nests_as_deep_as_a_frame_per_level_allows():
    """One frame per level of nesting, on every Python (a comprehension is one more frame
    on 3.9-3.11): 800 levels of lists under the default recursion limit of 1000."""
    from autotelemetry.hook import event

    value: list[object] = []
    for _ in range(800):
        value = [value]
    assert event.dumps(value) == "[" * 801 + "]" * 801


#: An allowlisted host that counts what the boot's finder is asked while Click loads, then
#: imports and uses argparse (a second framework: still watched, still instrumented).
_FINDER_PROBE = """\
import sys
boot = sys.modules["_autotelemetry_boot"]
where = sys.meta_path.index(boot)
asked, real = [], boot.find_spec
def counting(name, path=None, target=None):
    asked.append(name)
    return real(name, path, target)
boot.find_spec = counting
import click
print(sorted(n for n in asked if n != "click.core" and not n.startswith("click")))
print(sys.meta_path.index(boot) == where)
import argparse
print(getattr(argparse.ArgumentParser._get_positional_actions, "__autotelemetry_wrapped__", 0))
"""


def test_finder_stands_aside_while_a_framework_module_loads(venv: Venv, tmp_path: Path):
    """While ``click.core``'s body runs (its ~50 imports), the boot's finder is off
    ``sys.meta_path`` (each finder costs every import ~2k instructions); it is back at its
    place after, and a framework imported later is still instrumented."""
    script = tmp_path / "finder_probe.py"
    script.write_text(_FINDER_PROBE)
    env = clean_env(
        AUTOTELEMETRY_HOME=str(tmp_path / "home"), AUTOTELEMETRY_ALLOW="finder_probe.py"
    )
    out = subprocess.run([venv.python, str(script)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    asked, back, patched = out.stdout.splitlines()
    # Only the imports of click/__init__ before and after click.core (none of them stdlib
    # modules that click.core's body imports: collections, enum, typing...).
    assert "typing" not in asked and "enum" not in asked, asked
    assert back == "True"
    assert patched == "True"


def _run_with_fake_click(
    venv: Venv, tmp_path: Path, core: str, probe: str, body: str, **files: str
) -> str:
    """Run script ``probe`` (``body``, after a stand-in ``click`` package whose ``core.py``
    is ``core``, and ``files`` beside it, go first on ``sys.path``) allowlisted; its stdout."""
    fake = tmp_path / "fake"
    (fake / "click").mkdir(parents=True)
    (fake / "click" / "__init__.py").write_text("from . import core\n")
    (fake / "click" / "core.py").write_text(core)
    for name, text in files.items():
        (fake / name).write_text(text)
    script = tmp_path / probe
    script.write_text(f"import sys\nsys.path.insert(0, {str(fake)!r})\n" + body)
    env = clean_env(AUTOTELEMETRY_HOME=str(tmp_path / "home"), AUTOTELEMETRY_ALLOW=probe)
    out = subprocess.run(
        [venv.python, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


_FAKE_CORE = "import argparse  # a framework module whose body imports another\n"


def test_framework_imported_by_another_framework_body_is_instrumented(venv: Venv, tmp_path: Path):
    """The finder stands aside while a framework module's body runs: a watched module that
    body imports (or another thread does meanwhile) is patched in place when it is back.
    (A stand-in ``click`` package whose ``core`` imports argparse: no Click does.)"""
    body = (
        "import click, argparse\n"
        "print(getattr(argparse.ArgumentParser._get_positional_actions,"
        " '__autotelemetry_wrapped__', 0))\n"
    )
    out = _run_with_fake_click(venv, tmp_path, _FAKE_CORE, "nested_probe.py", body)
    assert out == "True\n"


_REORDERING_CORE = """\
import sys
class Planted:
    @staticmethod
    def find_spec(name, path=None, target=None):
        return None
sys.meta_path.insert(0, Planted)
"""


def test_finder_keeps_the_hosts_order_when_a_framework_body_adds_a_finder(
    venv: Venv, tmp_path: Path
):
    """A framework body that inserts a finder while ours stands aside: ours goes back in
    front of the finder that followed it, so the finders the host had keep their order.
    (A stand-in ``click`` package whose ``core`` plants a finder: no Click does.)"""
    body = (
        "names = lambda: [getattr(f, '__name__', type(f).__name__) for f in sys.meta_path]\n"
        "print(names())\nimport click\nprint(names())\n"
    )
    out = _run_with_fake_click(venv, tmp_path, _REORDERING_CORE, "order_probe.py", body)
    before, after = (eval(line) for line in out.splitlines())
    assert "_autotelemetry_boot" in before, before
    assert after == ["Planted", *before], after


_THREAD_CORE = """\
import sys, threading
started, release = threading.Event(), threading.Event()
def load():
    import argparse  # the stand-in beside this package, in another thread
loader = threading.Thread(target=load)
loader.start()
started.wait()  # that argparse is mid-body now, while this body ends
"""

_HALF_ARGPARSE = """\
import sys
asked = []
def __getattr__(name):  # what anyone asks of this module before its body ends
    asked.append(name)
    raise AttributeError(name)
core = sys.modules["click.core"]
core.started.set()
core.release.wait()
class ArgumentParser:
    pass
"""


def test_a_framework_still_loading_in_another_thread_is_left_alone(venv: Venv, tmp_path: Path):
    """When the finder comes back, a watched module another thread is still executing is
    not patched half-built (its classes may not exist yet): it is left alone. Stand-ins
    for ``click`` and ``argparse`` (the real ones never meet like this), said so."""
    body = (
        "import click\nhalf = sys.modules['argparse']\nprint(list(half.asked))\n"
        "click.core.release.set()\nclick.core.loader.join()\n"
    )
    out = _run_with_fake_click(
        venv, tmp_path, _THREAD_CORE, "thread_probe.py", body, **{"argparse.py": _HALF_ARGPARSE}
    )
    assert out == "[]\n"


def test_a_watched_name_that_raises_on_every_attribute_never_breaks_the_import(
    venv: Venv, tmp_path: Path
):
    """When the finder comes back it looks at the other watched modules; one that raises on
    any attribute (a lazy-import proxy, a test double under ``argparse``'s name) is passed
    over and the host's ``import click`` goes on. (Stand-ins for both, said so.)"""
    body = (
        "class Proxy:\n"
        "    def __getattribute__(self, name):\n"
        "        raise RuntimeError('proxy: ' + name)\n"
        "sys.modules['argparse'] = Proxy()\n"
        "import click\nprint('imported')\n"
    )
    out = _run_with_fake_click(venv, tmp_path, "", "proxy_probe.py", body)
    assert out == "imported\n"
