"""Security (issue 9, item 5): private state, refused symlinks and foreign owners, untrusted
allowlists, secrets kept off disk, TLS verification always on, a scrubbed sender environment.

See docs/security.md for the threat model these tests pin.
"""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import assert_same_output as _same
from conftest import read_spool

FAST = {"AUTOTELEMETRY_RETRY_BASE": "0.1", "AUTOTELEMETRY_SEND_BUDGET": "5"}
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def test_state_is_private(run, receiver):
    run.home.chmod(0o755)  # a pre-existing, too-open home is tightened on use
    run("exampleclick", "db", "status", env={"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST})
    run("autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST})
    assert run.home.stat().st_mode & 0o777 == 0o700
    for path in run.home.rglob("*"):
        mode = path.stat().st_mode & 0o777
        if path.name == "allowlist":
            continue  # written by the test
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


@pytest.mark.parametrize("which", ["home", "spool"])
def test_symlinked_state_dir_is_refused(run, run_bare, venv, bare_venv, tmp_path, which):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    if which == "home":
        home = tmp_path / "link-home"
        home.symlink_to(target)
    else:
        home = run.home
        (home / "spool").symlink_to(target)
    env = {"AUTOTELEMETRY_HOME": str(home), "AUTOTELEMETRY_ALLOW": "exampleclick"}
    _same(run("exampleclick", "db", "status", env=env), run_bare("exampleclick", "db", "status"))
    assert list(target.iterdir()) == []  # nothing written through the link
    status = run("autotelemetry", "status", env=env)
    assert status.returncode == 0
    if which == "home":
        assert b"symlink" in status.stdout


@root_only
@pytest.mark.parametrize("which", ["home", "spool"])
def test_state_dir_owned_by_another_user_is_refused(run, run_bare, which):
    victim = run.home if which == "home" else run.home / "spool"
    victim.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(victim, "nobody")
    _same(run("exampleclick", "db", "status"), run_bare("exampleclick", "db", "status"))
    assert read_spool(run.home) == []  # nothing written, whichever directory was foreign
    if which == "home":
        assert b"owned by another user" in run("autotelemetry", "status").stdout


def test_world_writable_allowlist_is_not_trusted(run, venv, tmp_path):
    allowlist = run.home / "allowlist"
    allowlist.chmod(0o666)
    run("exampleclick", "db", "status")
    assert run.events() == []
    assert b"world-writable" in run("autotelemetry", "status").stdout
    explicit = tmp_path / "list"
    explicit.write_text("exampleclick\n")
    explicit.chmod(0o646)
    run("exampleclick", "db", "status", env={"AUTOTELEMETRY_ALLOWLIST": str(explicit)})
    assert run.events() == []
    allowlist.chmod(0o644)
    run("exampleclick", "db", "status")
    assert len(run.events()) == 1


def test_symlinked_allowlist_is_not_followed(run, tmp_path):
    real = tmp_path / "real-list"
    real.write_text("exampleclick\n")
    (run.home / "allowlist").unlink()
    (run.home / "allowlist").symlink_to(real)
    run("exampleclick", "db", "status")
    assert run.events() == []


def test_headers_never_reach_disk_or_debug_output(run, receiver):
    secret = "Bearer%20tok-9f8e7d6c5b4a"
    env = {
        "AUTOTELEMETRY_ENDPOINT": receiver.url,
        "AUTOTELEMETRY_HEADERS": f"Authorization={secret},X-Api-Key=k3y-abcdef123",
        "AUTOTELEMETRY_DEBUG": "1",
        "AUTOTELEMETRY_SEND_INTERVAL": "0.5",
        **FAST,
    }
    cli = run("exampleclick", "db", "status", env=env)  # spawns the detached sender
    deadline = time.monotonic() + 30
    while not receiver.delivered and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.delivered
    assert receiver.requests[0]["headers"]["Authorization"] == "Bearer tok-9f8e7d6c5b4a"
    flush = run("autotelemetry", "flush", env=env)
    for needle in (b"tok-9f8e7d6c5b4a", b"k3y-abcdef123", b"Bearer%20tok"):
        assert needle not in cli.stderr + flush.stderr + flush.stdout
        for path in run.home.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), path


def _tls_server(tmp_path: Path) -> tuple[http.server.HTTPServer, str, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # Handshake in the handler thread: a client that gives up mid-handshake must not
    # block the accept loop.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.hits = hits  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}/", cert


def test_tls_self_signed_refused_custom_ca_accepted(run, tmp_path):
    server, url, cert = _tls_server(tmp_path)
    try:
        run("exampleclick", "db", "status")
        base = {"AUTOTELEMETRY_ENDPOINT": url, "AUTOTELEMETRY_PROTOCOL": "json", **FAST}
        # Verification cannot be switched off: not by our knob, not by requests' variables.
        for extra in (
            {},
            {"AUTOTELEMETRY_CA_BUNDLE": "0"},
            {"AUTOTELEMETRY_CA_BUNDLE": "false"},
            {"CURL_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": ""},
            {"PYTHONHTTPSVERIFY": "0"},
        ):
            out = run("autotelemetry", "flush", env={**base, **extra})
            assert out.returncode == 1, (extra, out.stdout)
            assert b"sent 0" in out.stdout
        assert server.hits == []  # type: ignore[attr-defined]
        out = run("autotelemetry", "flush", env={**base, "AUTOTELEMETRY_CA_BUNDLE": str(cert)})
        assert out.returncode == 0, out.stdout + out.stderr
        assert b"sent 1" in out.stdout
        assert len(server.hits) == 1  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def test_sender_gets_a_scrubbed_environment(run, receiver):
    """Regression: the detached sender used to inherit the host's whole environment."""
    receiver.default = "hang"
    env = {
        "AUTOTELEMETRY_ENDPOINT": receiver.url,
        "AWS_SECRET_ACCESS_KEY": "aws-very-secret",
        "GITHUB_TOKEN": "ghp_secret",
        "HTTPS_PROXY": "",
        **FAST,
    }
    run("exampleclick", "db", "status", env=env)
    assert receiver.hanging.wait(30)
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autotelemetry.sender" in cmd and f"AUTOTELEMETRY_HOME={run.home}".encode() in environ:
            pids.append(pid)
            names = {e.split(b"=", 1)[0] for e in environ if e}
            assert b"AWS_SECRET_ACCESS_KEY" not in names and b"GITHUB_TOKEN" not in names
            assert {b"AUTOTELEMETRY_ENDPOINT", b"PATH", b"HTTPS_PROXY"} <= names
    receiver.default = 200
    receiver.release.set()
    assert len(pids) == 1
