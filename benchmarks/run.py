"""Side-by-side start-up benchmarks: the same command with and without the hook.

Builds its own environments under ``benchmarks/.envs`` (a venv with
autotelemetry + the example CLIs, and a twin without autotelemetry), then times
pairs of commands in ALTERNATING order (A, B, A, B, ...) so drift and noise hit
both sides alike, and reports the median of each side and their ratio. Results
go to ``benchmarks/results.json`` and into the table between the markers in
``docs/performance.md``.

    python benchmarks/run.py               # default: 41 runs per side
    python benchmarks/run.py --runs 101    # tighter medians

This is a measurement tool, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / "benchmarks" / ".envs"
RESULTS = ROOT / "benchmarks" / "results.json"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- benchmark:begin -->", "<!-- benchmark:end -->"


@dataclass
class Case:
    name: str
    a: list[str]  # with autotelemetry
    b: list[str]  # reference
    env_a: dict[str, str] = field(default_factory=dict)
    env_b: dict[str, str] = field(default_factory=dict)
    budget: float | None = None
    note: str = ""


def venv(name: str, packages: list[str]) -> Path:
    path = ENVS / name
    marker = path / ".ready"
    stamp = max(p.stat().st_mtime for p in (ROOT / "autotelemetry").rglob("*.py"))
    wanted = json.dumps([packages, stamp])
    if marker.exists() and marker.read_text() == wanted:
        return path
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    pip = [
        str(path / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, *packages], check=True, env={**os.environ, "AUTOTELEMETRY_DISABLED": "1"})
    marker.write_text(wanted)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTOTELEMETRY_", "OTEL_")) and k not in ("DO_NOT_TRACK", "CI")
    }
    env.update(extra)
    return env


def once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, env, file_actions=_devnull)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


_devnull = [
    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
]


def measure(case: Case, runs: int) -> dict[str, object]:
    for _ in range(3):  # warm the page cache and .pyc files
        once(case.a, case.env_a)
        once(case.b, case.env_b)
    a_times, b_times = [], []
    for _ in range(runs):
        a_times.append(once(case.a, case.env_a))
        b_times.append(once(case.b, case.env_b))
    a_med, b_med = statistics.median(a_times), statistics.median(b_times)
    ratio = a_med / b_med
    return {
        "case": case.name,
        "with_ms": round(a_med * 1000, 2),
        "without_ms": round(b_med * 1000, 2),
        "ratio": round(ratio, 3),
        "budget": case.budget,
        "within_budget": None if case.budget is None else ratio <= case.budget,
        "runs": runs,
        "note": case.note,
    }


SENTRY_SITECUSTOMIZE = """\
import sentry_sdk
sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", traces_sample_rate=1.0)
"""


def cases(envs: dict[str, Path], home: str) -> list[Case]:
    """The comparisons, with their budgets (docs/performance.md explains each)."""

    def exe(env: str, name: str) -> str:
        return str(envs[env] / "bin" / name)

    plain = clean_env(AUTOTELEMETRY_HOME=home)
    allowed = clean_env(AUTOTELEMETRY_HOME=home, AUTOTELEMETRY_ALLOW="exampleclick,exampletyper")
    otel_env = clean_env(
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none"
    )
    ok = ["db", "migrate", "--dry-run", "prod"]
    usage = ["db", "nosuch"]
    crash = ["crash"]
    typer_ok = ["users", "create", "bob", "--admin"]
    out = [
        Case(
            "python -c pass",
            [exe("hooked", "python"), "-c", "pass"],
            [exe("bare", "python"), "-c", "pass"],
            plain,
            plain,
            1.02,
        ),
        Case(
            "python -I -c pass",
            [exe("hooked", "python"), "-I", "-c", "pass"],
            [exe("bare", "python"), "-I", "-c", "pass"],
            plain,
            plain,
            1.02,
        ),
        Case(
            "Click CLI, not allowlisted",
            [exe("hooked", "exampleclick"), *ok],
            [exe("bare", "exampleclick"), *ok],
            plain,
            plain,
            1.02,
        ),
    ]
    for label, argv in (("success", ok), ("usage error", usage), ("crash", crash)):
        out.append(
            Case(
                f"Click CLI, instrumented ({label})",
                [exe("hooked", "exampleclick"), *argv],
                [exe("bare", "exampleclick"), *argv],
                allowed,
                plain,
                1.05,
            )
        )
    out.append(
        Case(
            "Typer CLI, instrumented (success)",
            [exe("hooked", "exampletyper"), *typer_ok],
            [exe("bare", "exampletyper"), *typer_ok],
            allowed,
            plain,
            1.05,
        )
    )
    if "otel" in envs:
        out.append(
            Case(
                "Click CLI under opentelemetry-instrument (reference)",
                [exe("otel", "opentelemetry-instrument"), exe("otel", "exampleclick"), *ok],
                [exe("bare", "exampleclick"), *ok],
                otel_env,
                plain,
                note="incumbent: OpenTelemetry auto-instrumentation, exporters off",
            )
        )
    if "sentry" in envs:
        out.append(
            Case(
                "Click CLI with sentry_sdk.init in sitecustomize (reference)",
                [exe("sentry", "exampleclick"), *ok],
                [exe("bare", "exampleclick"), *ok],
                plain,
                plain,
                note="incumbent: Sentry SDK, default integrations",
            )
        )
    return out


def build_envs(incumbents: bool) -> dict[str, Path]:
    examples = [str(ROOT / "examples" / "exampleclick"), str(ROOT / "examples" / "exampletyper")]
    envs = {"hooked": venv("hooked", [str(ROOT), *examples]), "bare": venv("bare", examples)}
    if incumbents:
        envs["otel"] = venv(
            "otel",
            [
                *examples,
                "opentelemetry-distro",
                "opentelemetry-exporter-otlp-proto-http",
                "opentelemetry-instrumentation-click",
            ],
        )
        envs["sentry"] = venv("sentry", [*examples, "sentry-sdk"])
        site = next((envs["sentry"] / "lib").glob("python3*/site-packages"))
        (site / "sitecustomize.py").write_text(SENTRY_SITECUSTOMIZE)
    return envs


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def render(results: list[dict[str, object]], meta: dict[str, object]) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; {meta['runs']} alternating runs per side,",
        "median wall time of the whole process (spawn to exit).",
        "",
        "| case | with hook | without | ratio | budget |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        budget = "" if r["budget"] is None else f"≤ {r['budget']}"
        mark = "" if r["within_budget"] in (None, True) else " ✗"
        lines.append(
            f"| {r['case']} | {r['with_ms']} ms | {r['without_ms']} ms | "
            f"{r['ratio']:.3f}{mark} | {budget} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41, help="runs per side (default 41)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    parser.add_argument(
        "--no-incumbents", action="store_true", help="skip the OpenTelemetry and Sentry columns"
    )
    args = parser.parse_args()

    ENVS.mkdir(parents=True, exist_ok=True)
    envs = build_envs(not args.no_incumbents)
    with tempfile.TemporaryDirectory() as home:
        results = []
        for case in cases(envs, home):
            r = measure(case, args.runs)
            results.append(r)
            print(
                f"{r['case']:<42} {r['with_ms']:>8} ms {r['without_ms']:>8} ms  "
                f"ratio {r['ratio']:.3f}",
                flush=True,
            )
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "runs": args.runs}
    RESULTS.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    if not args.no_doc and DOC.exists():
        text = DOC.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            DOC.write_text(head + BEGIN + "\n" + render(results, meta) + "\n" + END + tail)


if __name__ == "__main__":
    main()
