"""Property suite (issue 13): no typed, derived or secret value survives into crash data.

Hypothesis generates command lines in every shape a value can take (``--name=V``,
``--name V``, ``-xV``, ``-x V``, a value starting with ``-``, after ``--``, ``++plus=V``
with custom prefix characters, an ``@file`` of arguments, ``KEY=V``, one item of a
comma list, absolute and relative paths, an unknown ``--option=V``) mixed with the
CLIs' real option names, plus typed 3–6 character substrings of every secret kind.
Real CLIs (argparse, Click, Typer: plain scripts, run by the test venv's interpreter
through the real ``.pth``) put every value they hold — parsed, from the environment,
from a file full of secrets — into crash messages in every transformation of
``tests/scripts/leaky_common.py`` (cased, URL-encoded, base64, ``repr()``, split
over lines, a path's directory, ``KeyError``, JSON, ...), each raised through the
real crash path (a thread each, then one uncaught exception).

Then: zero marker bytes in any file under the CLI's home directory and under
``AUTOTELEMETRY_HOME`` (spool, SQLite store after ``autotelemetry events``, state),
and in any request body a loopback receiver gets from ``autotelemetry flush``.
Markers are drawn from letters no id, hash or English word is made of, and checked
as every 8-character window, upper-cased too, and in their base64/hex forms.

Kept cheap on two shared cores: a derandomized profile with a fixed number of
examples; each example is three CLI runs (each one process raising hundreds of
crafted exceptions), one ingest and one flush.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Runner, Venv, assert_same_output, clean_env
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from receiver import Receiver

SCRIPTS = Path(__file__).parent / "scripts"
LEAKY = ("leaky_common.py", "leaky_argparse.py", "leaky_click.py", "leaky_typer.py")
#: No hex digit, no vowel: no id, hash, timestamp or English word holds 8 of these in a row.
ALPHABET = "ghjkmnpqrstvwxyz"
WINDOW = 8
EXAMPLES = 6

#: Secret kinds: (text the program holds, payload parts that must never be stored).
SECRETS = {
    "bearer": ("Authorization: Bearer QzBearerTok3nXYZ987", ["QzBearerTok3nXYZ987"]),
    "basic": ("Authorization: Basic dXNlcjpQQVNTd29yZFhZWg==", ["dXNlcjpQQVNTd29yZFhZWg"]),
    "jwt": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJKV1RQQVlMT0FEIn0.SIGNATUREJWT123",
        ["eyJzdWIiOiJKV1RQQVlMT0FEIn0", "SIGNATUREJWT123"],
    ),
    "stripe": ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", ["4eC39HqLyjWDarjtT1zdp7dc"]),
    "stripe_test": ("sk_test_51HtestKeyValue9876", ["51HtestKeyValue9876"]),
    "aws": ("AKIAIOSFODNN7EXAMPLQ", ["IOSFODNN7EXAMPLQ"]),
    "aws_secret": (
        "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYQ",
        ["wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYQ"],
    ),
    "google": ("AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", ["SyDdI0hCZtE6vySjMm"]),
    "github": ("ghp_R4nd0mGitHubT0kenABCDEFGHIJKLMNOP", ["R4nd0mGitHubT0ken"]),
    "gitlab": ("glpat-Xy9GitLabTokenAbCdEf12", ["Xy9GitLabTokenAbCdEf12"]),
    "slack": ("xoxb-2048-SLACKTOKENVALUE-abc", ["SLACKTOKENVALUE"]),
    "openai": ("sk-proj-Zq8OpenAiKeyValue1234567890", ["Zq8OpenAiKeyValue1234567890"]),
    "pem": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQPEMBODYSECRET\nQUJDREVGPEMLINE2\n"
        "-----END RSA PRIVATE KEY-----",
        ["MIIEvQPEMBODYSECRET", "QUJDREVGPEMLINE2"],
    ),
    "url": ("https://deploy:UrlPassw0rdQ@git.example.org/repo", ["UrlPassw0rdQ"]),
    "pair": ("password=PairPassw0rdQ", ["PairPassw0rdQ"]),
    "token_pair": ('{"api_token": "JsonT0kenValueQ"}', ["JsonT0kenValueQ"]),
    "key_pair": ("AccountKey=AzureKeyValue0123ABCDEFabcdef", ["AzureKeyValue0123"]),
    "option": ("--password Hunter2OptionValueQ", ["Hunter2OptionValueQ"]),
    "hex": ("session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c", ["9f86d081884c7d65"]),
    "email": ("contact jane.roe.private@example.com", ["jane.roe.private"]),
}

#: How a value reaches the command line: shape -> (argv tokens before "--", after "--").
SHAPES = (
    "positional",
    "long_eq",
    "long_sep",
    "short_attached",
    "short_sep",
    "dash_value",
    "after_ddash",
    "dash_after_ddash",
    "plus_prefix",
    "argfile",
    "kv",
    "comma",
    "path_abs",
    "path_rel",
    "unknown_option",
)


def _shape(shape: str, v: str, argfile: Path) -> tuple[list[str], list[str]]:
    if shape == "positional":
        return [v], []
    if shape == "long_eq":
        return [f"--name={v}"], []
    if shape == "long_sep":
        return ["--opt", v], []
    if shape == "short_attached":
        return [f"-x{v}"], []
    if shape == "short_sep":
        return ["-x", v], []
    if shape == "dash_value":
        return [f"--opt=-{v}"], []
    if shape == "after_ddash":
        return [], [v]
    if shape == "dash_after_ddash":
        return [], [f"-{v}"]
    if shape == "plus_prefix":
        return [f"++plus={v}"], []
    if shape == "argfile":
        with argfile.open("a") as f:
            f.write(f"--opt\n{v}\n")
        return [f"@{argfile}"], []
    if shape == "kv":
        return ["--define", f"key={v}"], []
    if shape == "comma":
        return ["--list", f"a,{v},b"], []
    if shape == "path_abs":
        return ["--path", f"/srv/{v}/data.csv"], []
    if shape == "path_rel":
        return ["--path", f"{v}/notes.txt"], []
    assert shape == "unknown_option"
    return [f"--frobnicate={v}"], []


def _forms(v: str) -> list[str]:
    """The shapes the program may hold ``v`` in, for the base64/hex needles."""
    return [v, f"-{v}", f"key={v}", f"a,{v},b", f"/srv/{v}/data.csv", f"{v}/notes.txt"]


def _needles(markers: list[str]) -> list[str]:
    out: set[str] = set()
    for m in markers:
        for text in (m, m.upper()):
            out.update(text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1))
        for form in _forms(m):
            data = form.encode()
            out.add(base64.b64encode(data).decode().rstrip("="))
            out.add(base64.urlsafe_b64encode(data).decode().rstrip("="))
            out.add(data.hex())
    return sorted(out)


_marker = st.text(ALPHABET, min_size=16, max_size=20)


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(3, 6))
    typed = draw(st.lists(_marker, min_size=n, max_size=n, unique=True))
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=n, max_size=n))
    # The CLIs' real flags mixed in (their options with values are in the shapes).
    flags = draw(st.lists(st.sampled_from(["--verbose", "-v"]), max_size=2))
    # Every secret kind: a typed 3-6 character substring of it (secrets stay in a file).
    subs = []
    for kind in sorted(SECRETS):
        text = SECRETS[kind][0]
        size = draw(st.integers(3, 6))
        start = draw(st.integers(0, len(text) - size))
        subs.append(text[start : start + size])
    others = draw(st.lists(_marker, min_size=5, max_size=5, unique=True))
    transforms = draw(
        st.lists(st.sampled_from(sorted(TRANSFORMS)), min_size=3, max_size=6, unique=True)
    )
    return typed, shapes, flags, subs, others, transforms


# The transformation names, as the CLIs define them (read without importing them).
TRANSFORMS = [
    line.split('"')[1]
    for line in (SCRIPTS / "leaky_common.py").read_text().splitlines()
    if line.startswith('    "') and ": lambda v:" in line
]


def _layout(root: Path, others: list[str]) -> tuple[Path, Path, dict[str, str]]:
    """A user-named home and working directory holding the CLIs; the environment."""
    user, cwd_name, project, env_marker, file_marker = others
    home = root / "users" / user
    cwd = home / cwd_name
    project_dir = cwd / project
    project_dir.mkdir(parents=True)
    for name in LEAKY:
        shutil.copy(SCRIPTS / name, project_dir / name)
    secrets = root / "secrets.txt"
    secrets.write_text(
        "\n\n".join([file_marker, *(text for text, _ in SECRETS.values())]) + "\n",
        encoding="utf-8",
    )
    env = {
        "HOME": str(home),
        "USER": user,
        "LOGNAME": user,
        "LEAKY_ENV": env_marker,
        "LEAKY_FILE": str(secrets),
        "COLUMNS": "100",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }
    return cwd, project_dir, env


def _leaks(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{n!r} in {path}" for n in needles if n.encode() in data]
    return found


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is seconds long
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_no_value_survives_anywhere(venv: Venv, receiver: Receiver, tmp_path_factory, case):
    typed, shapes, flags, subs, others, transforms = case
    root = tmp_path_factory.mktemp("leak")
    at_home = root / "at-home"
    at_home.mkdir(mode=0o700)
    (at_home / "allowlist").write_text("leaky_argparse.py\nleaky_click.py\nleaky_typer.py\n")
    cwd, project, env = _layout(root, others)
    before, after = list(flags), []
    for v, shape in zip(typed, shapes):
        head, tail = _shape(shape, v, root / "args.txt")
        before += head
        after += tail
    argv = [*before, "--", *subs, *after]
    run = Runner(venv, at_home, cwd)
    expected = 0
    for script, extra in (
        ("leaky_argparse.py", {}),
        ("leaky_click.py", {"LEAKY_TRANSFORMS": ",".join(transforms)}),
        ("leaky_typer.py", {"LEAKY_TRANSFORMS": ",".join(transforms)}),
    ):
        out = subprocess.run(
            [venv.python, f"{project.name}/{script}", *argv],
            capture_output=True,
            cwd=cwd,
            env=run.env(**env, **extra),
            timeout=300,
        )
        assert out.returncode == 1, out.stderr[-2000:]
        assert b"GaveUp: giving up after" in out.stderr, out.stderr[-2000:]
        counted = re.search(rb"^\w+: (\d+) cases$", out.stderr, re.M)
        assert counted, out.stderr[-2000:]
        expected += int(counted.group(1)) + 1  # the threads' and the uncaught one
    crashes = [e for e in run.events() if e["type"] == "crash"]
    print(f"\nleak example: {len(crashes)} crash events, argv {len(argv)} tokens")
    # Every case was recorded (none lost to the rate limit or a failure) ...
    assert len(crashes) >= expected > 100
    # ... and kept the program's own text around the values it dropped.
    messages = [c["exception"]["message"] for c in crashes]
    assert sum("expected a table of settings" in m for m in messages) >= len(typed)
    assert all(c["exception"]["frames"][-1]["in_app"] for c in crashes)
    stored = run.stored()
    assert len([e for e in stored if e["type"] == "crash"]) == len(crashes)
    first = len(receiver.requests)
    sent = run("autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": receiver.url})
    assert sent.returncode == 0, sent.stderr
    assert len(receiver.delivered) >= len(stored)

    markers = [*typed, *others]
    needles = _needles(markers) + [n for _, parts in SECRETS.values() for n in parts]
    leaks = _leaks(at_home, needles) + _leaks(Path(env["HOME"]), needles)
    for request in receiver.requests[first:]:
        leaks += [f"{n!r} sent to the receiver" for n in needles if n.encode() in request["body"]]
    assert not leaks, leaks[:20]


def test_leaky_cli_output_is_unchanged(venv, bare_venv, tmp_path):
    """The crashing CLIs print, exit and trace back exactly as without us."""
    argv = ["--name=ghjkmnpqrstvwxyz", "-xqqqqzzzz", "--opt=-vvvvwwww", "--", "tail"]
    for script in ("leaky_argparse.py", "leaky_click.py", "leaky_typer.py"):
        outs = []
        for v in (venv, bare_venv):
            home = tmp_path / f"home-{v.path.name}"
            home.mkdir(exist_ok=True)
            (home / "allowlist").write_text(f"{script}\n")
            env = clean_env(AUTOTELEMETRY_HOME=str(home), LEAKY_TRANSFORMS="plain,repr")
            outs.append(
                subprocess.run(
                    [v.python, str(SCRIPTS / script), *argv],
                    capture_output=True,
                    cwd=tmp_path,
                    env=env,
                    timeout=120,
                )
            )
        assert_same_output(outs[0], outs[1], (venv, bare_venv))
        assert outs[0].returncode == 1 and b"Exception in thread" in outs[0].stderr


# --- the owner distribution's lookup ----------------------------------------------------

_NAME_PART = st.text(st.sampled_from("aAbB.-_1é"), min_size=1, max_size=6)
_LISTED = st.lists(
    st.one_of(
        st.builds(lambda n, v: f"{n}-{v}.dist-info", _NAME_PART, _NAME_PART),
        st.builds(lambda n: n + ".py", _NAME_PART),
        _NAME_PART,
    ),
    max_size=12,
)


@given(listed=_LISTED, program=_NAME_PART)
def test_named_dist_infos_are_those_named_like_the_program(listed: list[str], program: str):
    """The joined-listing search finds exactly the entries the per-entry rule would, in
    listing order: ASCII listings (the search) and others (the loop) alike."""
    from autotelemetry.hook import event

    normal = program.lower().replace("-", "_").replace(".", "_") + "-"
    expected = [
        e
        for e in listed
        if e.endswith(".dist-info") and e.lower().replace(".", "_").startswith(normal)
    ]
    assert event.dist_infos_named(listed, normal) == expected
