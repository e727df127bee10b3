"""Configuration, consent and the `autotelemetry` command (issue 6).

Pure functions of autotelemetry.hook.config, .allowlist and .configfile are called
in-process (they read only the files and environment they are given); everything else runs the real
console scripts of the test venv through the real .pth hook.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Runner, read_spool

sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotelemetry.hook import allowlist, config, configfile, identity

# --- precedence: every pair of sources ------------------------------------------

SOURCES = ["kill", "variable", "env_file", "user_file", "default"]  # highest first


def _settings(tmp_path: Path, present: set[str]):  # type: ignore[no-untyped-def]
    """Settings with the given sources each setting sample_rate/endpoint/enabled."""
    env_file, user_file = tmp_path / "env.toml", tmp_path / "user.toml"
    environ: dict[str, str] = {"AUTOTELEMETRY_HOME": str(tmp_path / "home")}
    if "kill" in present:
        environ["DO_NOT_TRACK"] = "1"
    if "variable" in present:
        environ["AUTOTELEMETRY_SAMPLE_RATE"] = "0.75"
        environ["AUTOTELEMETRY_ENDPOINT"] = "https://variable.example"
    if "env_file" in present:
        env_file.write_text('sample_rate = 0.5\nendpoint = "https://envfile.example"\n')
    if "user_file" in present:
        user_file.write_text('sample_rate = 0.25\nendpoint = "https://userfile.example"\n')
    return config.load_settings(environ, [str(env_file), str(user_file)]), environ


EXPECTED = {
    "variable": (0.75, "https://variable.example", "AUTOTELEMETRY_SAMPLE_RATE"),
    "env_file": (0.5, "https://envfile.example", "env.toml"),
    "user_file": (0.25, "https://userfile.example", "user.toml"),
    "default": (1.0, None, "default"),
}


@pytest.mark.parametrize("high,low", list(itertools.combinations(SOURCES, 2)), ids=lambda s: str(s))
def test_precedence_every_pair(tmp_path, high, low):
    settings, environ = _settings(tmp_path, {high, low})
    if high == "kill":
        assert settings.values["enabled"] is False
        assert settings.sources["enabled"] == "DO_NOT_TRACK"
        assert config.skip_reason("mycli", settings, environ) == "disabled by DO_NOT_TRACK"
        return
    rate, endpoint, source = EXPECTED[high]
    assert settings.values["sample_rate"] == rate
    assert settings.values["endpoint"] == endpoint
    assert settings.sources["sample_rate"].endswith(source)
    assert settings.values["enabled"] is True and settings.problems == []


def test_disabled_anywhere_wins(tmp_path):
    env_file, user_file = tmp_path / "env.toml", tmp_path / "user.toml"
    env_file.write_text("enabled = true\n")
    user_file.write_text("enabled = false\n")
    s = config.load_settings({}, [str(env_file), str(user_file)])
    assert s.values["enabled"] is False and s.sources["enabled"] == str(user_file)
    env_file.write_text('[cli."acme-*"]\nenabled = false\nsample_rate = 0.5\n')
    user_file.write_text("[cli.acme-db]\nsample_rate = 1\n")
    s = config.load_settings({}, [str(env_file), str(user_file)])
    assert config.for_cli(s, "acme-db", "enabled")[0] is False
    assert config.for_cli(s, "other", "enabled")[0] is True
    # the per-environment file outranks the user's per-CLI value
    assert config.for_cli(s, "acme-db", "sample_rate")[0] == 0.5
    user_file.write_text("sample_rate = 0.1\n[cli.mycli]\nsample_rate = 0.9\n")
    s = config.load_settings({}, [str(tmp_path / "none.toml"), str(user_file)])
    assert config.for_cli(s, "mycli", "sample_rate")[0] == 0.9  # per-CLI beats global in one file
    assert config.for_cli(s, "other", "sample_rate")[0] == 0.1


def test_every_setting_is_read_from_its_variable_and_its_file(tmp_path):
    """Each file setting's variable and config-file key reach its own row of the table
    (the variable through the columns config holds, the file through the table)."""
    from autotelemetry.hook import options, values

    for name, variable in config.SETTING_VARIABLES:
        row = options.BY_NAME[name]
        kind = row[options.KIND]
        samples = {"bool": "false", "rate": "0.5", "url": "https://x.example"}
        value = row[options.CHOICES][-1] if kind == "choice" else samples[kind]
        s = config.load_settings({variable: value}, [])
        assert s.sources[name] == variable and s.problems == [], (name, s.problems)
        user = tmp_path / f"{name}.toml"
        text = value if row[options.KIND] in ("bool", "rate") else f'"{value}"'
        user.write_text(f"{name} = {text}\n")
        s = config.load_settings({}, [str(user)])
        assert s.sources[name] == str(user) and s.problems == [], (name, s.problems)
        assert s.values[name] == values.coerce(name, value)[0]
    assert {n for n, _ in config.SETTING_VARIABLES} >= {"record_signals", "sample_rate"}


def test_the_settings_one_test_names_every_variable_they_read(monkeypatch):
    """When none of ``SETTING_KEYS`` is set in the real environment, the settings stop after
    one C-level test: each variable they read must be one of them, and each, set in the
    real environment (the fast test's), still reaches its setting."""
    from autotelemetry.hook import options

    variables = [v for _, v in config.SETTING_VARIABLES]
    variables += [*options.OTEL_ENDPOINTS, *options.KILL_SWITCHES]
    assert sorted(config.SETTING_KEYS) == sorted(v.encode() for v in variables)
    for key in config.SETTING_KEYS:
        monkeypatch.delenv(key.decode(), raising=False)
    assert config.load_settings(files=[]).sources == dict.fromkeys(config.DEFAULTS, "default")
    samples = {"bool": "false", "rate": "0.5", "url": "https://x.example"}
    for name, variable in config.SETTING_VARIABLES:
        row = options.BY_NAME[name]
        kind = row[options.KIND]
        value = row[options.CHOICES][-1] if kind == "choice" else samples[kind]
        monkeypatch.setenv(variable, value)
        assert config.load_settings(files=[]).sources[name] == variable, name
        monkeypatch.delenv(variable)
    for variable in options.OTEL_ENDPOINTS:
        monkeypatch.setenv(variable, "https://otel.example")
        assert config.load_settings(files=[]).sources["endpoint"] == variable
        monkeypatch.delenv(variable)
    for variable in options.KILL_SWITCHES:
        monkeypatch.setenv(variable, "1")
        settings = config.load_settings(files=[])
        assert (settings.values["enabled"], settings.sources["enabled"]) == (False, variable)
        monkeypatch.delenv(variable)


def test_the_ci_one_test_names_every_variable_ci_provider_reads(monkeypatch):
    """Outside CI one C-level test answers ``None``; in CI each variable still names its
    provider (set in the real environment, where the test applies)."""
    from autotelemetry.hook import event

    assert sorted(event.CI_KEYS) == sorted([v.encode() for v, _ in event.CI_PROVIDERS] + [b"CI"])
    for key in event.CI_KEYS:
        monkeypatch.delenv(key.decode(), raising=False)
    assert event.ci_provider() is None
    for variable, provider in event.CI_PROVIDERS:
        monkeypatch.setenv(variable, "1")
        assert event.ci_provider() == provider
        monkeypatch.delenv(variable)
    monkeypatch.setenv("CI", "true")
    assert event.ci_provider() == "generic"
    monkeypatch.setenv("CI", "false")
    assert event.ci_provider() is None


def test_bad_values_are_reported_not_fatal(tmp_path):
    user = tmp_path / "user.toml"
    user.write_text(
        'sample_rate = 7\nprotocol = "xml"\nci = "maybe"\nbogus = 1\n[cli.x]\nci = "skip"\n'
    )
    s = config.load_settings({"AUTOTELEMETRY_SAMPLE_RATE": "lots"}, [str(user)])
    assert s.values == config.DEFAULTS
    assert len(s.problems) == 6, s.problems


TOML_CASES = [
    "",
    "# only a comment\n",
    'enabled = false\nendpoint = "https://h.example/v1?a=1#x"  # trailing\n',
    "sample_rate = 0.25\nci = 'skip'\n[cli.mycli]\nsample_rate = 1\n",
    '[cli."acme-*"]\nenabled = false\n[cli.other]\nsample_rate = 0.5\n',
    'endpoint = "a\\"b\\u00e9"\n',
]


@pytest.mark.parametrize("text", TOML_CASES)
def test_fallback_parser_agrees_with_tomllib(text):
    tomllib = pytest.importorskip("tomllib")
    assert configfile.parse_toml_subset(text) == tomllib.loads(text)


@pytest.mark.parametrize(
    "text", ["x = [1, 2]", "[cli", "x = 'open", "x = 1\nx = 2", "= 1", "x = 1 2", "[[a]]"]
)
def test_fallback_parser_rejects_with_line_numbers(text):
    with pytest.raises(ValueError, match=r"^line \d+: "):
        configfile.parse_toml_subset(text)


def test_opt_out_variable_names():
    assert config.opt_out_variable("mycli") == "MYCLI_NO_TELEMETRY"
    assert config.opt_out_variable("acme-db.tool") == "ACME_DB_TOOL_NO_TELEMETRY"
    assert config.opt_out_variable("tool.py") == "TOOL_NO_TELEMETRY"


def test_exclusion_matching(tmp_path):
    allow = tmp_path / "allowlist"
    allow.write_text("mycli !deploy !db:drop* !x:y\nacme-* !secret\nother\n")
    al = allowlist.load_allowlist({"AUTOTELEMETRY_ALLOWLIST": str(allow)})
    assert al.problems == []
    assert allowlist.excluded("mycli deploy", "mycli", al) == "deploy"
    assert allowlist.excluded("mycli deploy now", "mycli", al) == "deploy"
    assert allowlist.excluded("mycli db drop-all", "mycli", al) == "db:drop*"
    assert allowlist.excluded("mycli db migrate", "mycli", al) is None
    assert allowlist.excluded("mycli", "mycli", al) is None
    assert allowlist.excluded("acme-x secret", "acme-x", al) == "secret"
    assert allowlist.excluded("other deploy", "other", al) is None
    allow.write_text("mycli deploy\n")
    al = allowlist.load_allowlist({"AUTOTELEMETRY_ALLOWLIST": str(allow)})
    assert [e.pattern for e in al.entries] == ["mycli"]
    assert "'deploy' ignored" in al.problems[0] and ":1:" in al.problems[0]


# --- the quick "no" never contradicts the allowlist reader ----------------------------

_NAMES = st.sampled_from(["mycli", "mycli.py", "my", "cli", "tool.py", "acme-db", "x"])
_WORDS = st.sampled_from(
    [
        "mycli",
        "my",
        "mycli.py",
        "mycl",
        "xmycli",
        "tool",
        "tool.py",
        "acme-*",
        "acme-db",
        "x",
        "m?cli",
        "[mt]*",
        "!mycli",
        "!db:*",
        "#",
        "# mycli",
        "other",
        "\u00e9",
        "a/b",
        ",",
        "",
    ]
)
_TEXTS = st.lists(st.lists(_WORDS, max_size=4).map(" ".join), max_size=4).map("\n".join)


def _unlisted_and_reader(tmp_path: Path, name: str, user: str, explicit: "str | None", allow: str):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "allowlist").write_text(user, encoding="utf-8")
    (home / "allowlist").chmod(0o600)
    saved = {
        k: os.environ.get(k)
        for k in ("AUTOTELEMETRY_HOME", "AUTOTELEMETRY_ALLOW", "AUTOTELEMETRY_ALLOWLIST")
    }
    os.environ["AUTOTELEMETRY_HOME"] = str(home)
    os.environ["AUTOTELEMETRY_ALLOW"] = allow
    os.environ.pop("AUTOTELEMETRY_ALLOWLIST", None)
    if explicit is not None:
        (tmp_path / "explicit").write_text(explicit, encoding="utf-8")
        os.environ["AUTOTELEMETRY_ALLOWLIST"] = str(tmp_path / "explicit")
    program = identity.program
    identity.program = lambda: name  # type: ignore[assignment]
    try:
        quick = identity.unlisted()
        entry = allowlist.is_allowlisted(name, allowlist.load_allowlist())
    finally:
        identity.program = program  # type: ignore[assignment]
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return quick, entry


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=_NAMES,
    user=_TEXTS,
    explicit=st.none() | _TEXTS,
    allow=_TEXTS.map(lambda t: t.replace("\n", ",")),
)
def test_quick_no_agrees_with_the_reader(tmp_path, name, user, explicit, allow):
    """identity.unlisted() (the bystander's quick "no", on raw bytes, without the reader)
    says True only when the reader finds no entry for the program."""
    quick, entry = _unlisted_and_reader(tmp_path, name, user, explicit, allow)
    if quick:
        assert entry is None, (name, user, explicit, allow, entry)


def test_quick_no_answers(tmp_path):
    """The quick check does say "no" (and "maybe") where it should, so the property above
    is not vacuous: unrelated entries, a comment naming the program, a glob."""
    assert _unlisted_and_reader(tmp_path, "mycli", "other\n", None, "tool") == (True, None)
    assert _unlisted_and_reader(tmp_path, "mycli", "", None, "") == (True, None)
    quick, entry = _unlisted_and_reader(tmp_path, "mycli", "# mycli\n", None, "")
    assert (quick, entry) == (False, None)  # mentioned: the reader decides (no)
    quick, entry = _unlisted_and_reader(tmp_path, "mycli", "my*\n", None, "")
    assert quick is False and entry is not None and entry.pattern == "my*"
    quick, entry = _unlisted_and_reader(tmp_path, "tool.py", "", "tool\n", "")
    assert quick is False and entry is not None and entry.pattern == "tool"


# --- end to end: the real hook in the real venv ---------------------------------------


@pytest.fixture
def env_config(venv):  # type: ignore[no-untyped-def]
    """The shared venv's per-environment config file; removed after the test."""
    path = venv.path / "etc" / "autotelemetry" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    yield path
    path.unlink(missing_ok=True)


def _status(run: Runner, **env: str) -> dict:
    out = run("autotelemetry", "status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_status_shows_each_source(run, env_config):
    env_config.write_text('sample_rate = 0.5\nprotocol = "json"\n')
    (run.home / "config.toml").write_text('protocol = "otlp"\nci = "skip"\n')
    data = _status(run, AUTOTELEMETRY_SAMPLE_RATE="0.9")
    s = data["settings"]
    assert s["sample_rate"] == {"value": 0.9, "source": "AUTOTELEMETRY_SAMPLE_RATE"}
    assert s["protocol"] == {"value": "json", "source": str(env_config)}
    assert s["ci"] == {"value": "skip", "source": str(run.home / "config.toml")}
    assert s["endpoint"] == {"value": None, "source": "default"}
    text = run("autotelemetry", "status").stdout.decode()
    assert "AUTOTELEMETRY_SAMPLE_RATE" not in text  # not set in this run
    assert str(env_config) in text


def test_env_config_disable_reaches_the_hook(run, env_config):
    env_config.write_text("enabled = false\n")
    assert run("exampleclick", "db", "status").returncode == 0
    assert run.events() == []


def test_enable_disable_persist_and_win_over_allowlist(run):
    out = run("autotelemetry", "disable")
    assert out.returncode == 0 and b"disabled" in out.stdout
    run("exampleclick", "db", "status")
    run("autotelemetry", "run", "exampleclick", "db", "status")
    assert run.events() == []
    assert b"enabled = false" in run("autotelemetry", "status").stdout
    run("autotelemetry", "enable")
    assert "enabled = true" in (run.home / "config.toml").read_text()
    run("exampleclick", "db", "status")
    assert len(run.events()) == 1


def test_per_cli_opt_out_variable(run):
    run("exampleclick", "db", "status", env={"EXAMPLECLICK_NO_TELEMETRY": "1"})
    assert run.events() == []
    run("exampleclick", "db", "status", env={"EXAMPLECLICK_NO_TELEMETRY": "0"})
    assert len(run.events()) == 1


def test_sampling(run):
    for _ in range(3):
        run("exampleclick", "db", "status", env={"AUTOTELEMETRY_SAMPLE_RATE": "0"})
    assert run.events() == [] and not (run.home / "spool").exists()
    # The draw is a 32-bit random fraction, at most 1 - 2**-32: a rate of 1 - 2**-33 is
    # below 1 (so the event carries it) yet above every draw (so the run is always kept).
    rate = 1 - 2**-33
    (run.home / "config.toml").write_text(f"[cli.exampleclick]\nsample_rate = {rate!r}\n")
    run("exampleclick", "db", "status")
    (ev,) = run.events()
    assert ev["sample_rate"] == rate
    # explicit `autotelemetry run` is never sampled out
    run(
        "autotelemetry",
        "run",
        "exampleclick",
        "db",
        "status",
        env={"AUTOTELEMETRY_SAMPLE_RATE": "0"},
    )
    assert len(run.events()) == 2 and "sample_rate" not in run.events()[1]


def test_ci_policy(run):
    ci = {"GITHUB_ACTIONS": "true"}
    run("exampleclick", "db", "status", env={**ci, "AUTOTELEMETRY_CI": "skip"})
    assert run.events() == []
    run("exampleclick", "db", "status", env={"AUTOTELEMETRY_CI": "skip"})  # not in CI
    run("exampleclick", "db", "status", env=ci)  # default: record, tagged
    events = run.events()
    assert [e["env"]["ci"] for e in events] == [False, True]


def test_excluded_subcommands_record_nothing(run):
    (run.home / "allowlist").write_text("exampleclick !fail !db:mig*\n")
    for argv in (["fail"], ["db", "migrate", "--dry-run", "x"], ["db", "status"]):
        run("exampleclick", *argv)
    assert [e["command"] for e in run.events()] == ["exampleclick db status"]
    out = run("autotelemetry", "allow", "exampleclick", "--exclude", "db:status", "--user")
    assert out.returncode == 0, out.stderr
    assert (run.home / "allowlist").read_text() == "exampleclick !fail !db:mig* !db:status\n"
    assert "!db:status" in run("autotelemetry", "status").stdout.decode()


def test_child_carries_parent_session(run, venv, tmp_path):
    script = tmp_path / "parentcli.py"
    script.write_text(
        "import subprocess, sys, click\n"
        "@click.command()\n"
        "def main():\n"
        f"    subprocess.run([{venv.script('exampleclick')!r}, 'db', 'status'], check=True)\n"
        "main()\n"
    )
    (run.home / "allowlist").write_text("exampleclick\nparentcli\n")
    out = subprocess.run([venv.python, str(script)], capture_output=True, env=run.env())
    assert out.returncode == 0, out.stderr
    child, parent = sorted(run.events(), key=lambda e: e["cli"]["name"])
    assert child["cli"]["name"] == "exampleclick"
    assert child["parent_session_id"] == parent["session_id"] != child["session_id"]
    assert "parent_session_id" not in parent
    # a value that is not a session id is never copied into an event
    run("exampleclick", "db", "status", env={"AUTOTELEMETRY_PARENT_SESSION": "/home/alice"})
    assert "parent_session_id" not in run.events()[-1]


def test_reset_id(run):
    run("exampleclick", "db", "status")
    old = run.events()[0]["install_id"]
    out = run("autotelemetry", "reset-id")
    assert out.returncode == 0
    new = (run.home / "install_id").read_text().strip()
    assert new != old and new in out.stdout.decode()
    run("exampleclick", "db", "status")
    assert run.events()[-1]["install_id"] == new


# --- the one-time notice --------------------------------------------------------------


def _run_with_pty_stderr(run: Runner, env: dict[str, str]) -> tuple[bytes, bytes, int]:
    """Run with stderr on a pseudo-terminal and stdout on a pipe."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [run.venv.script("exampleclick"), "db", "status"],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=run.env(**env),
    )
    os.close(slave)
    stdout = proc.stdout.read()  # type: ignore[union-attr]
    proc.wait(timeout=60)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return stdout, b"".join(chunks), proc.returncode


def test_notice_once_on_a_terminal_never_on_stdout(run):
    # Port 9 on 127.0.0.1 (discard): nothing listens; the notice does not depend on it.
    endpoint = {"AUTOTELEMETRY_ENDPOINT": "http://user:pw@127.0.0.1:9/v1"}
    local_out, local_err, _ = _run_with_pty_stderr(run, {})
    assert b"autotelemetry" not in local_err and not (run.home / "notice_shown").exists()
    out, err, code = _run_with_pty_stderr(run, endpoint)
    assert code == 0 and out == local_out
    assert b"is sent to 127.0.0.1:9" in err and b"autotelemetry disable" in err
    assert b"pw" not in err and b"autotelemetry" not in out
    assert (run.home / "notice_shown").exists()
    _, err2, _ = _run_with_pty_stderr(run, endpoint)
    assert b"autotelemetry" not in err2


def test_no_notice_when_stderr_is_not_a_terminal(run, run_bare):
    env = {"AUTOTELEMETRY_ENDPOINT": "http://127.0.0.1:9/"}
    hooked = run("exampleclick", "db", "status", env=env)
    assert b"autotelemetry" not in hooked.stderr + hooked.stdout
    assert not (run.home / "notice_shown").exists()


# --- bad inputs: the host is unaffected, doctor names the problem ---------------------


def _big(path: Path) -> None:
    path.write_bytes(b"# padding\n" * (1 << 20))  # 10 MiB


BAD_INPUTS = {
    "malformed-toml": (lambda h: (h / "config.toml").write_text("enabled = [\n"), "malformed TOML"),
    # As root, permissions do not stop reads: a directory in the file's place is the
    # unreadable file we can make in every environment.
    "unreadable-config": (lambda h: (h / "config.toml").mkdir(), "not a regular file"),
    "unreadable-allowlist": (
        lambda h: ((h / "allowlist").unlink(), (h / "allowlist").mkdir()),
        "not a regular file",
    ),
    "world-writable-allowlist": (lambda h: (h / "allowlist").chmod(0o666), "world-writable"),
    "path-line": (
        lambda h: (h / "allowlist").write_text("exampleclick\n/usr/bin/exampleclick\n"),
        "allowlist:2: '/usr/bin/exampleclick' skipped: looks like a path",
    ),
    "empty-allowlist": (lambda h: (h / "allowlist").write_text(""), "nothing is allowlisted"),
    "empty-config": (lambda h: (h / "config.toml").write_text(""), "config.toml"),
    "10mb-allowlist": (lambda h: _big(h / "allowlist"), "larger than 1 MiB"),
    "10mb-config": (lambda h: _big(h / "config.toml"), "larger than 1 MiB"),
    "bad-value": (
        lambda h: (h / "config.toml").write_text("sample_rate = 'half'\n"),
        "sample_rate must be a number",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_host_unchanged_doctor_names_it(run, run_bare, venv, bare_venv, case):
    make, needle = BAD_INPUTS[case]
    make(run.home)
    for argv in (["db", "status"], ["fail"], ["crash", "x"]):
        hooked, bare = run("exampleclick", *argv), run_bare("exampleclick", *argv)
        assert hooked.returncode == bare.returncode
        assert hooked.stdout == bare.stdout
        norm = [
            o.stderr.replace(str(v.path).encode(), b"")
            for o, v in ((hooked, venv), (bare, bare_venv))
        ]
        assert norm[0] == norm[1]
    doctor = run("autotelemetry", "doctor")
    text = doctor.stdout.decode()
    assert needle in text, text
    if case.startswith("empty"):
        assert doctor.returncode == 0, text  # a choice, not a fault
    else:
        assert doctor.returncode == 1 and "fix:" in text, text


@pytest.mark.parametrize(
    "variable, value, needle, severity",
    [
        # environment-only: ignored, its default applies (with an endpoint or without)
        ("AUTOTELEMETRY_SPOOL_MAX_FILES", "many", "must be a whole number greater than 0", "warn"),
        ("AUTOTELEMETRY_SEND_INTERVAL", "-1", "must be a number of seconds, 0 or more", "warn"),
        # a setting: ignored in favour of the next source
        ("AUTOTELEMETRY_SAMPLE_RATE", "half", "must be a number from 0 to 1", "fail"),
    ],
)
def test_doctor_names_a_bad_variable_in_local_mode(run, variable, value, needle, severity):
    """A variable set to something invalid is named, with what it must be and the fix for
    a variable (not a file's), though no endpoint is configured."""
    doctor = run("autotelemetry", "doctor", env={variable: value})
    text = doctor.stdout.decode()
    lines = [line for line in text.splitlines() if variable in line]
    assert len(lines) == 1, text
    shown = severity.upper() if severity == "fail" else severity  # doctor's own spelling
    assert lines[0].split(None, 2) == [shown, "config", f"{variable}: {needle}, ignored"]
    fix = text.splitlines()[text.splitlines().index(lines[0]) + 1].split()
    assert fix[:4] == ["fix:", "fix", "or", "unset"], text
    assert doctor.returncode == (1 if severity == "fail" else 0), text


def test_doctor_healthy_and_endpoint(run):
    out = run("autotelemetry", "doctor", "--json")
    data = json.loads(out.stdout)
    assert out.returncode == 0 and data["ok"], data
    names = {c["name"] for c in data["checks"]}
    assert {"hook", "boot", "enabled", "allowlist", "config", "home", "clock", "endpoint"} <= names
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        up = run(
            "autotelemetry", "doctor", env={"AUTOTELEMETRY_ENDPOINT": f"http://127.0.0.1:{port}/"}
        )
    assert up.returncode == 0 and b"reachable (TCP connect" in up.stdout
    down = run(
        "autotelemetry", "doctor", env={"AUTOTELEMETRY_ENDPOINT": f"http://127.0.0.1:{port}/"}
    )
    assert down.returncode == 1 and b"unreachable" in down.stdout


def test_doctor_flags_dash_S(run, venv):
    purelib = subprocess.run(
        [venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        env=run.env(AUTOTELEMETRY_DISABLED="1"),
    ).stdout.strip()
    out = subprocess.run(
        [
            venv.python,
            "-S",
            "-c",
            "import sys; sys.path.append(sys.argv[1]);"
            "from autotelemetry.cli import main; main(['doctor'])",
            purelib,
        ],
        capture_output=True,
        env=run.env(),
    )
    assert out.returncode == 1 and b"runs with -S" in out.stdout, out.stdout + out.stderr


def test_doctor_corrupt_store(run):
    run("exampleclick", "db", "status")
    run.stored()
    (run.home / "store.sqlite").write_bytes(b"this is not sqlite" * 100)
    out = run("autotelemetry", "doctor")
    assert out.returncode == 1 and b"corrupt" in out.stdout


# --- schema, sitecustomize, help, completion -------------------------------------------


def test_recorded_events_validate_against_schema(run):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(run("autotelemetry", "schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for argv in (
        ["--verbose", "db", "migrate", "--dry-run", "p"],
        ["db", "nosuch"],
        ["fail"],
        ["crash", "x"],
    ):
        run("exampleclick", *argv)
    run("exampletyper", "users", "create", "bob", "--admin")
    spooled = run.events()
    assert len(spooled) >= 5
    for ev in [*spooled, *run.stored()]:
        errors = list(validator.iter_errors(ev))
        assert not errors, (ev, errors[0].message)
    bad = dict(spooled[0], status="great")
    assert list(validator.iter_errors(bad))


def test_sitecustomize_template_activates_and_chains(run, bare_venv, tmp_path):
    site_dir, theirs = tmp_path / "site", tmp_path / "theirs"
    site_dir.mkdir()
    theirs.mkdir()
    template = run("autotelemetry", "sitecustomize").stdout
    assert template == (ROOT / "sitecustomize_template" / "sitecustomize.py").read_bytes()
    (site_dir / "sitecustomize.py").write_bytes(template)
    marker = tmp_path / "chained"
    (theirs / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write(__name__)\n")
    # The venv without the .pth hook, autotelemetry importable only through PYTHONPATH.
    env = {"PYTHONPATH": os.pathsep.join([str(site_dir), str(theirs), str(ROOT)])}
    runner = Runner(bare_venv, run.home, tmp_path)
    out = runner("exampleclick", "db", "status", env=env)
    assert out.returncode == 0 and out.stderr == b"", out.stderr
    assert marker.read_text() == "sitecustomize"
    assert [e["command"] for e in read_spool(run.home)] == ["exampleclick db status"]


COMMANDS = [
    "run",
    "status",
    "enable",
    "disable",
    "allow",
    "deny",
    "events",
    "report",
    "purge",
    "schema",
    "doctor",
    "reset-id",
    "sitecustomize",
]


def test_every_command_has_help(run):
    for name in COMMANDS:
        out = run("autotelemetry", name, "--help")
        assert out.returncode == 0 and b"Usage:" in out.stdout, name
        assert len(out.stdout) > 200, name


def test_shell_completion_for_autotelemetry(run):
    out = run("autotelemetry", env={"_AUTOTELEMETRY_COMPLETE": "bash_source"})
    assert out.returncode == 0 and b"complete -o nosort -F" in out.stdout
    words = run(
        "autotelemetry",
        env={
            "_AUTOTELEMETRY_COMPLETE": "bash_complete",
            "COMP_WORDS": "autotelemetry doc",
            "COMP_CWORD": "1",
        },
    )
    assert b"doctor" in words.stdout


def test_hot_path_imports_only_stdlib_already_cheap(run, venv, tmp_path):
    """Settings add no module to an instrumented run except ours, even with a config file."""
    script = str(Path(__file__).parent / "scripts" / "modules_at_exit.py")
    (run.home / "allowlist").write_text("modules_at_exit.py\n")

    def loaded(**env: str) -> set[str]:
        out = tmp_path / "modules.txt"
        proc = subprocess.run(
            [venv.python, script, "click", str(out)], capture_output=True, env=run.env(**env)
        )
        assert proc.returncode == 0, proc.stderr
        return set(out.read_text().split())

    baseline = loaded(AUTOTELEMETRY_DISABLED="1")
    ours = ("autotelemetry", "_autotelemetry")
    plain = loaded() - baseline
    assert plain and all(m.startswith(ours) for m in plain), plain
    assert "autotelemetry.hook.notice" not in plain
    (run.home / "config.toml").write_text('endpoint = "http://127.0.0.1:9/"\n')
    with_file = loaded() - baseline
    # The first run with an endpoint is due to start a sender: the claim is a flock.
    assert {m for m in with_file if not m.startswith(ours)} == {"fcntl"}
    assert "autotelemetry.hook.configfile" in with_file
    assert len(read_spool(run.home)) == 2


def test_events_filters(run):
    run("exampleclick", "db", "status")
    run("exampletyper", "users", "delete", "bob", "--force")
    assert len(run.stored("--since", "2000-01-01")) == 2
    assert run.stored("--since", "2999-01-01") == []
    assert [e["cli"]["name"] for e in run.stored("--cli", "exampletyper")] == ["exampletyper"]
    assert len(run.stored("--limit", "1")) == 1
    report = json.loads(run("autotelemetry", "report", "--json", "--cli", "exampleclick").stdout)
    assert [c["cli"] for c in report["clis"]] == ["exampleclick"]
